import CSaddlePluginABI
import Foundation
import SaddleRegistry

/// Reads a plugin's registration from bytes: the info it declares and a few activation,
/// layer and optimizer descriptors, every field drawn from the bytes (sizes, names,
/// signatures, parameter specifications with NaN and infinite bounds, missing pointers).
/// Pointers are valid or NULL, as the ABI requires of a plugin; function pointers are never
/// called during registration.
struct DescriptorDecoder {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private mutating func byte() -> UInt8 {
        defer { position += 1 }
        return position < bytes.count ? bytes[position] : 0
    }

    private mutating func choose<T>(_ options: [T]) -> T { options[Int(byte()) % options.count] }

    private static let nameAlphabet = Array("abcdefghijklmnopqrstuvwxyz_.0123AZ- é")
    private static let roleAlphabet = Array("nxyhebioXWgdDwspltc?IOmuUrkGPS")
    private static let numbers: [Double] = [0, 1, -1, 0.5, 100, 1e300, -1e300, .nan, .infinity, -.infinity, 4e9, 1e-320]

    private mutating func text(_ alphabet: [Character], prefix: String = "") -> String? {
        let length = Int(byte()) % 24
        if length == 23 { return nil }
        return prefix + String((0..<length).map { _ in alphabet[Int(byte()) % alphabet.count] })
    }

    /// Calls `body` with the decoded declaration and registration calls; the memory they
    /// point to lives until `body` returns.
    mutating func withDescriptors<R>(_ body: (UnsafePointer<saddle_plugin_info>?, [DescriptorCheck.Call]) -> R) -> R {
        var allocations: [UnsafeMutableRawPointer] = []
        defer { for pointer in allocations { free(pointer) } }
        func cString(_ value: String?) -> UnsafePointer<CChar>? {
            guard let value, let copy = strdup(value) else { return nil }
            allocations.append(UnsafeMutableRawPointer(copy))
            return UnsafePointer(copy)
        }
        func array<T>(_ items: [T]) -> UnsafePointer<T>? {
            guard !items.isEmpty else { return nil }
            let pointer = UnsafeMutablePointer<T>.allocate(capacity: items.count)
            pointer.initialize(from: items, count: items.count)
            allocations.append(UnsafeMutableRawPointer(pointer))
            return UnsafePointer(pointer)
        }
        let dummy = UnsafeMutableRawPointer(bitPattern: 0x1000)
        func kernel() -> saddle_kernel {
            saddle_kernel(
                struct_size: choose([UInt32(MemoryLayout<saddle_kernel>.size), 0, 8]),
                signature: cString(text(DescriptorDecoder.roleAlphabet)), f32: choose([dummy, nil]), f64: choose([dummy, nil]))
        }
        func parameters() -> (UInt32, UnsafePointer<saddle_parameter>?) {
            let count = Int(byte()) % 4
            let items = (0..<count).map { _ in
                saddle_parameter(
                    struct_size: choose([UInt32(MemoryLayout<saddle_parameter>.size), 4]), name: cString(text(DescriptorDecoder.nameAlphabet)),
                    type: Int32(byte() % 6) - 1, required: Int32(byte() % 2), default_value: choose(DescriptorDecoder.numbers),
                    minimum: choose(DescriptorDecoder.numbers), maximum: choose(DescriptorDecoder.numbers), summary: cString(text(DescriptorDecoder.nameAlphabet)))
            }
            // A count larger than the array would be a plugin reading its own memory wrongly;
            // the count given is the array's.
            return (UInt32(count), array(items))
        }
        func names() -> (UInt32, UnsafePointer<UnsafePointer<CChar>?>?) {
            let items = (0..<(Int(byte()) % 3)).map { _ in cString(text(DescriptorDecoder.nameAlphabet)) }
            return (UInt32(items.count), array(items))
        }
        var info = saddle_plugin_info(
            struct_size: choose([UInt32(MemoryLayout<saddle_plugin_info>.size), 32, 8]), abi_major: choose([UInt16(SADDLE_PLUGIN_ABI_MAJOR), 0, 2]),
            abi_minor: choose([UInt16(SADDLE_PLUGIN_ABI_MINOR), UInt16(SADDLE_PLUGIN_ABI_MINOR), 0, 9]), name: cString(choose(["fuzz", "fuzz", "Fuzz", "", "a.b", nil])),
            version: cString(text(DescriptorDecoder.nameAlphabet)), summary: cString(text(DescriptorDecoder.nameAlphabet)),
            flags: choose([0, 0, 1, 6]))
        func stringParameters() -> (UInt32, UnsafePointer<saddle_string_parameter>?) {
            let items = (0..<(choose([0, 0, 1, 2]))).map { _ in
                saddle_string_parameter(
                    struct_size: choose([UInt32(MemoryLayout<saddle_string_parameter>.size), 4]), name: cString(text(DescriptorDecoder.nameAlphabet)),
                    choices: choose([nil, array([cString("a"), cString("b"), nil]), array([nil])]), default_value: cString(choose(["a", "c", nil])),
                    summary: nil)
            }
            return (UInt32(items.count), array(items))
        }
        func axes(_ count: UInt32) -> UnsafePointer<Int32>? {
            choose([nil, nil, array((0..<Int(count)).map { _ in Int32(byte() % 11) - 2 })])
        }
        var calls: [DescriptorCheck.Call] = []
        for _ in 0..<(1 + Int(byte()) % 4) {
            let name = cString(choose([true, true, false]) ? text(DescriptorDecoder.nameAlphabet, prefix: "fuzz.") : text(DescriptorDecoder.nameAlphabet))
            let summary = cString(text(DescriptorDecoder.nameAlphabet))
            let (parameterCount, parameterArray) = parameters()
            switch byte() % 3 {
            case 0:
                let descriptor = saddle_activation(
                    struct_size: choose([UInt32(MemoryLayout<saddle_activation>.size), 8, 0]), name: name, summary: summary,
                    parameter_count: parameterCount, parameters: parameterArray, forward: kernel(), derivative: kernel(), second_derivative: kernel())
                calls.append(.activation(array([descriptor])))
            case 1:
                let (weightCount, weightNames) = names()
                let (bufferCount, bufferNames) = choose([true, false, false]) ? names() : (0, nil)
                let (stringCount, strings) = stringParameters()
                var descriptor = saddle_layer()
                descriptor.struct_size = choose([UInt32(MemoryLayout<saddle_layer>.size), 208, 16])
                descriptor.name = name
                descriptor.summary = summary
                descriptor.parameter_count = parameterCount
                descriptor.parameters = parameterArray
                descriptor.output_features = choose([{ _, input, output, _ in output?.pointee = input; return 0 }, nil])
                descriptor.weight_count = weightCount
                descriptor.weight_names = weightNames
                descriptor.weight_shape = choose([{ _, _, _, _, _, _, _ in 0 }, nil])
                descriptor.initialize = choose([{ _, _, _, _, _, _, _, _ in 0 }, nil])
                (descriptor.forward, descriptor.backward, descriptor.jvp, descriptor.backward_jvp) = (kernel(), kernel(), kernel(), kernel())
                descriptor.output_shape = choose([nil, nil, nil, { _, _, input, output, _ in output?.pointee = input!.pointee; return 0 }])
                descriptor.weight_shape_of = choose([nil, { _, _, _, _, _, _, _ in 0 }])
                descriptor.buffer_count = bufferCount
                descriptor.buffer_names = bufferNames
                descriptor.buffer_shape = choose([nil, { _, _, _, _, _, _, _ in 0 }])
                descriptor.buffer_initial_values = choose([nil, array([Double.nan, 1, 0])])
                descriptor.string_parameter_count = stringCount
                descriptor.string_parameters = strings
                descriptor.transform_role = choose([0, 0, 0, 1, 2, 7])
                descriptor.units_parameter = cString(choose(["units", nil, "x"]))
                descriptor.weight_unit_axes = axes(weightCount)
                descriptor.weight_input_axes = axes(weightCount)
                descriptor.buffer_unit_axes = axes(bufferCount)
                calls.append(.layer(array([descriptor])))
            default:
                let (stateCount, stateNames) = names()
                let (stringCount, strings) = stringParameters()
                let descriptor = saddle_optimizer(
                    struct_size: choose([UInt32(MemoryLayout<saddle_optimizer>.size), 88, 12]), name: name, summary: summary,
                    parameter_count: parameterCount, parameters: parameterArray, state_count: stateCount, state_names: stateNames,
                    update: kernel(), string_parameter_count: stringCount, string_parameters: strings)
                calls.append(.optimizer(array([descriptor])))
            }
        }
        return withUnsafePointer(to: &info) { body($0, calls) }
    }
}
