// The entry point of saddle-fuzz when it is built as a libFuzzer binary (scripts/fuzz.sh):
// SwiftPM names an executable's entry point <module>_main, so the libFuzzer driver is started
// from there. Nothing is declared for Swift.
#ifndef SADDLE_FUZZ_DRIVER_H
#define SADDLE_FUZZ_DRIVER_H
#endif
