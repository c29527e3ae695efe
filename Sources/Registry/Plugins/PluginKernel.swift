import CSaddlePluginABI
import CSaddlePluginHost
import SaddleCore
import Synchronization

/// The values a kernel call can pass, by role (see saddle_plugin.h).
struct KernelArguments {
    var n: Int64 = 0
    var b: Int64 = 0
    var i: Int64 = 0
    var o: Int64 = 0
    var x: UnsafeMutableRawPointer?
    var y: UnsafeMutableRawPointer?
    var g: UnsafeMutableRawPointer?
    var tangentX: UnsafeMutableRawPointer?
    var d: UnsafeMutableRawPointer?
    var w: UnsafeMutableRawPointer?
    var tangentW: UnsafeMutableRawPointer?
    var weightGradients: UnsafeMutableRawPointer?
    var p: UnsafeMutableRawPointer?
    var s: UnsafeMutableRawPointer?
    var h: UnsafeMutableRawPointer?
    var l: Double = 0
    var t: Int64 = 0
    var inputShape: UnsafeMutableRawPointer?
    var outputShape: UnsafeMutableRawPointer?
    var mode: Int64 = 0
    var buffers: UnsafeMutableRawPointer?
    var bufferUpdates: UnsafeMutableRawPointer?
    var random: UnsafeMutableRawPointer?
    var directions: Int64 = 1
    var tangentG: UnsafeMutableRawPointer?
    var parameterShape: UnsafeMutableRawPointer?
    var strings: UnsafeMutableRawPointer?
    /// The gradients needed from backward ('q'): bit 0 the input, bit k+1 weight k.
    var needed: Int64 = -1
}

/// One lock per plugin that did not declare itself thread-safe: every call into the plugin
/// (kernels, shape functions, initializers) runs under it, so no two overlap (saddle_plugin.h).
final class PluginLock: Sendable {
    private let mutex = Mutex<Void>(())

    /// Runs `body` holding the lock.
    func run<R>(_ body: () throws -> R) rethrows -> R {
        try mutex.withLock { _ in try body() }
    }
}

extension Optional where Wrapped == PluginLock {
    /// Runs `body` under the lock when there is one.
    func run<R>(_ body: () throws -> R) rethrows -> R {
        switch self {
        case .some(let lock): try lock.run(body)
        case .none: try body()
        }
    }
}

/// Collects the message a plugin reports through a `saddle_sink`.
final class MessageSink {
    var message: String?

    /// Runs `body` with a sink whose reports land in `message`.
    static func collecting<R>(_ body: (UnsafeMutablePointer<saddle_sink>) throws -> R) rethrows -> (R, String?) {
        let box = MessageSink()
        var sink = saddle_sink(
            struct_size: UInt32(MemoryLayout<saddle_sink>.size), context: Unmanaged.passUnretained(box).toOpaque(),
            report: { context, text in
                guard let context, let text else { return }
                Unmanaged<MessageSink>.fromOpaque(context).takeUnretainedValue().message = String(cString: text)
            })
        let result = try withExtendedLifetime(box) { try body(&sink) }
        return (result, box.message)
    }
}

/// A plugin kernel with its libffi call interface, prepared once from its declared signature.
final class PluginKernel: @unchecked Sendable {
    let component: String
    let slot: String
    let roles: [Character]
    let lock: PluginLock?
    /// How many times the kernel has been called (the tests count the calls a Hessian makes).
    package let calls = Atomic<Int>(0)
    private let functions: [DType: UnsafeMutableRawPointer]
    private let cif: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>

    /// Validates `kernel`'s signature against the roles this slot allows and requires, and
    /// prepares its call interface. Returns nil for an empty slot (no functions).
    /// - Throws: `PluginError.unsupportedSignature` naming the component, slot and role.
    init?(_ kernel: saddle_kernel, component: String, slot: String, allowed: String, required: String, lock: PluginLock?) throws {
        guard kernel.f32 != nil || kernel.f64 != nil else { return nil }
        guard kernel.struct_size >= UInt32(MemoryLayout<saddle_kernel>.size) else {
            throw PluginError.structTooSmall(what: "\(component) \(slot) saddle_kernel", size: Int(kernel.struct_size), required: MemoryLayout<saddle_kernel>.size)
        }
        guard let signature = kernel.signature.map({ String(cString: $0) }) else {
            throw PluginError.unsupportedSignature(component: component, slot: slot, reason: "the signature is missing")
        }
        let roles = Array(signature)
        if let bad = roles.first(where: { !allowed.contains($0) }) {
            throw PluginError.unsupportedSignature(
                component: component, slot: slot, reason: "role '\(bad)' in \"\(signature)\" is not one of \"\(allowed)\" for this kernel")
        }
        if let missing = required.first(where: { !roles.contains($0) }) {
            throw PluginError.unsupportedSignature(component: component, slot: slot, reason: "\"\(signature)\" lacks the required role '\(missing)'")
        }
        guard Set(roles).count == roles.count else {
            throw PluginError.unsupportedSignature(component: component, slot: slot, reason: "\"\(signature)\" repeats a role")
        }
        self.component = component
        self.slot = slot
        self.roles = roles
        self.lock = lock
        var functions: [DType: UnsafeMutableRawPointer] = [:]
        if let f = kernel.f32 { functions[.float32] = f }
        if let f = kernel.f64 { functions[.float64] = f }
        self.functions = functions
        argumentTypes = .allocate(capacity: max(roles.count, 1))
        for (index, role) in roles.enumerated() {
            switch role {
            case "n", "b", "i", "o", "t", "m", "k", "q": argumentTypes[index] = saddle_ffi_sint64()
            case "l": argumentTypes[index] = saddle_ffi_double()
            default: argumentTypes[index] = saddle_ffi_pointer()
            }
        }
        cif = .allocate(capacity: 1)
        let status = ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(roles.count), saddle_ffi_sint32(), argumentTypes)
        guard status == FFI_OK else {
            throw PluginError.unsupportedSignature(component: component, slot: slot, reason: "libffi cannot prepare the call (status \(status.rawValue))")
        }
    }

    deinit {
        cif.deallocate()
        argumentTypes.deallocate()
    }

    /// Whether the signature takes `role`.
    func takes(_ role: Character) -> Bool { roles.contains(role) }

    /// Whether the plugin provides this kernel for `dtype`.
    func supports(_ dtype: DType) -> Bool { functions[dtype] != nil }

    /// The dtypes the plugin provides this kernel for, as text ("float64").
    var dtypesText: String { [DType.float32, .float64].filter(supports).map(\.rawValue).joined(separator: " and ") }

    /// Calls the kernel once with the arguments its signature names.
    /// - Throws: `PluginError.kernelFailed` with the plugin's message, or `.missingKernel`.
    func call(_ dtype: DType, _ arguments: KernelArguments) throws {
        guard let function = functions[dtype] else {
            throw PluginError.missingKernel(component: component, slot: slot, dtype: dtype)
        }
        let count = roles.count
        calls.add(1, ordering: .relaxed)
        let (status, message) = MessageSink.collecting { sink -> Int64 in
            let storage = UnsafeMutableRawPointer.allocate(byteCount: 8 * max(count, 1), alignment: 8)
            let values = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(count, 1))
            defer {
                storage.deallocate()
                values.deallocate()
            }
            for (index, role) in roles.enumerated() {
                let slot = storage + 8 * index
                switch role {
                case "n": slot.storeBytes(of: arguments.n, as: Int64.self)
                case "b": slot.storeBytes(of: arguments.b, as: Int64.self)
                case "i": slot.storeBytes(of: arguments.i, as: Int64.self)
                case "o": slot.storeBytes(of: arguments.o, as: Int64.self)
                case "t": slot.storeBytes(of: arguments.t, as: Int64.self)
                case "l": slot.storeBytes(of: arguments.l, as: Double.self)
                case "x": slot.storeBytes(of: arguments.x, as: UnsafeMutableRawPointer?.self)
                case "y": slot.storeBytes(of: arguments.y, as: UnsafeMutableRawPointer?.self)
                case "g": slot.storeBytes(of: arguments.g, as: UnsafeMutableRawPointer?.self)
                case "X": slot.storeBytes(of: arguments.tangentX, as: UnsafeMutableRawPointer?.self)
                case "d": slot.storeBytes(of: arguments.d, as: UnsafeMutableRawPointer?.self)
                case "w": slot.storeBytes(of: arguments.w, as: UnsafeMutableRawPointer?.self)
                case "W": slot.storeBytes(of: arguments.tangentW, as: UnsafeMutableRawPointer?.self)
                case "D": slot.storeBytes(of: arguments.weightGradients, as: UnsafeMutableRawPointer?.self)
                case "p": slot.storeBytes(of: arguments.p, as: UnsafeMutableRawPointer?.self)
                case "s": slot.storeBytes(of: arguments.s, as: UnsafeMutableRawPointer?.self)
                case "h": slot.storeBytes(of: arguments.h, as: UnsafeMutableRawPointer?.self)
                case "m": slot.storeBytes(of: arguments.mode, as: Int64.self)
                case "k": slot.storeBytes(of: arguments.directions, as: Int64.self)
                case "q": slot.storeBytes(of: arguments.needed, as: Int64.self)
                case "I": slot.storeBytes(of: arguments.inputShape, as: UnsafeMutableRawPointer?.self)
                case "O": slot.storeBytes(of: arguments.outputShape, as: UnsafeMutableRawPointer?.self)
                case "u": slot.storeBytes(of: arguments.buffers, as: UnsafeMutableRawPointer?.self)
                case "U": slot.storeBytes(of: arguments.bufferUpdates, as: UnsafeMutableRawPointer?.self)
                case "r": slot.storeBytes(of: arguments.random, as: UnsafeMutableRawPointer?.self)
                case "G": slot.storeBytes(of: arguments.tangentG, as: UnsafeMutableRawPointer?.self)
                case "P": slot.storeBytes(of: arguments.parameterShape, as: UnsafeMutableRawPointer?.self)
                case "S": slot.storeBytes(of: arguments.strings, as: UnsafeMutableRawPointer?.self)
                default: slot.storeBytes(of: UnsafeMutableRawPointer(sink), as: UnsafeMutableRawPointer?.self)
                }
                values[index] = slot
            }
            var result: Int64 = 0
            lock.run { ffi_call(cif, unsafeBitCast(function, to: (@convention(c) () -> Void).self), &result, values) }
            return result
        }
        guard Int32(truncatingIfNeeded: status) == SADDLE_OK else {
            throw PluginError.kernelFailed(component: component, slot: slot, message: message ?? "the kernel returned \(Int32(truncatingIfNeeded: status)) without a message")
        }
    }
}

/// Pointers to a list of tensors' data, as a C array of pointers, for 'w', 'W', 'D' and 's'.
func withPointerArray<R>(_ tensors: [Tensor], _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
    let array = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(tensors.count, 1))
    defer { array.deallocate() }
    for (index, tensor) in tensors.enumerated() { array[index] = tensor.unsafeAddress }
    return try body(UnsafeMutableRawPointer(array))
}
