// saddle-fuzz: the coverage-guided fuzz target of `make fuzz`, and a replayer.
//
// Built by scripts/fuzz.sh with -sanitize=fuzzer and SADDLE_LIBFUZZER, it is a libFuzzer
// binary: the format comes from SADDLE_FUZZ_FORMAT (run_file, checkpoint, csv, idx,
// plugin_descriptor); a crash or a refusal whose message does not name the file stops it with
// the input saved. Built normally (as `swift build` does), it replays files:
//
//     saddle-fuzz FORMAT FILE...
import Foundation
import SaddleFuzzHarness

#if SADDLE_LIBFUZZER
/// The harness, made once per process in a scratch folder of its own.
let harness: FuzzHarness? = try? FuzzHarness(
    scratch: FileManager.default.temporaryDirectory.appendingPathComponent("saddle-fuzz-\(getpid())"))
let format = FuzzFormat(rawValue: ProcessInfo.processInfo.environment["SADDLE_FUZZ_FORMAT"] ?? "") ?? .runFile

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let harness else { return 0 }
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let outcome = harness.run(format, bytes)
    if let problem = outcome.problem {
        FileHandle.standardError.write(Data("saddle-fuzz: \(problem)\n".utf8))
        abort()
    }
    return 0
}
#else
/// The replayer: `saddle-fuzz FORMAT FILE...` runs each file through the harness and prints
/// what became of it; exit status 1 when any refusal does not say where.
@main
struct Replayer {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let format = FuzzFormat(rawValue: name), arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: saddle-fuzz FORMAT FILE... (formats: \(FuzzFormat.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
            exit(2)
        }
        do {
            let harness = try FuzzHarness(scratch: FileManager.default.temporaryDirectory.appendingPathComponent("saddle-fuzz-\(getpid())"))
            var problems = 0
            for path in arguments.dropFirst() {
                let outcome = harness.run(format, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
                print("\(path): \(outcome.accepted ? "accepted" : "refused: \(outcome.message)")")
                if let problem = outcome.problem {
                    print("  problem: \(problem)")
                    problems += 1
                }
            }
            exit(problems == 0 ? 0 : 1)
        } catch {
            FileHandle.standardError.write(Data("saddle-fuzz: \(error)\n".utf8))
            exit(1)
        }
    }
}
#endif
