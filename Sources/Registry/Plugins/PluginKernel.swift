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
/// Reports may come from several threads at once (a kernel's `parallel_for` bodies): the first
/// message is kept, under a lock.
final class MessageSink: Sendable {
    private let message = Mutex<String?>(nil)

    /// Runs `body` with a sink whose first report is returned beside its result.
    static func collecting<R>(_ body: (UnsafeMutablePointer<saddle_sink>) throws -> R) rethrows -> (R, String?) {
        let box = MessageSink()
        var sink = saddle_sink(
            struct_size: UInt32(MemoryLayout<saddle_sink>.size), context: Unmanaged.passUnretained(box).toOpaque(),
            report: { context, text in
                guard let context, let text else { return }
                let reported = String(cString: text)
                Unmanaged<MessageSink>.fromOpaque(context).takeUnretainedValue().message.withLock { $0 = $0 ?? reported }
            })
        let result = try withExtendedLifetime(box) { try body(&sink) }
        return (result, box.message.withLock { $0 })
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
    private let float32: UnsafeMutableRawPointer?
    private let float64: UnsafeMutableRawPointer?
    /// `roles` as ASCII bytes, for the per-call switch.
    private let roleBytes: [UInt8]
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
        float32 = kernel.f32
        float64 = kernel.f64
        roleBytes = roles.map { $0.asciiValue ?? 0 }
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
    func supports(_ dtype: DType) -> Bool { function(dtype) != nil }

    private func function(_ dtype: DType) -> UnsafeMutableRawPointer? { dtype == .float32 ? float32 : float64 }

    /// The dtypes the plugin provides this kernel for, as text ("float64").
    var dtypesText: String { [DType.float32, .float64].filter(supports).map(\.rawValue).joined(separator: " and ") }

    /// Calls the kernel once with the arguments its signature names.
    /// - Throws: `PluginError.kernelFailed` with the plugin's message, or `.missingKernel`.
    func call(_ dtype: DType, _ arguments: KernelArguments) throws {
        guard let function = function(dtype) else {
            throw PluginError.missingKernel(component: component, slot: slot, dtype: dtype)
        }
        calls.add(1, ordering: .relaxed)
        let (status, message) = MessageSink.collecting { sinkPointer -> Int64 in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(roleBytes.count, 1)) { storage in
                withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: max(roleBytes.count, 1)) { values in
                    let base = UnsafeMutableRawPointer(storage.baseAddress!)
                    for (index, role) in roleBytes.enumerated() {
                        let slot = base + 8 * index
                        func pointer(_ value: UnsafeMutableRawPointer?) { slot.storeBytes(of: value, as: UnsafeMutableRawPointer?.self) }
                        func integer(_ value: Int64) { slot.storeBytes(of: value, as: Int64.self) }
                        switch role {
                        case UInt8(ascii: "n"): integer(arguments.n)
                        case UInt8(ascii: "b"): integer(arguments.b)
                        case UInt8(ascii: "i"): integer(arguments.i)
                        case UInt8(ascii: "o"): integer(arguments.o)
                        case UInt8(ascii: "t"): integer(arguments.t)
                        case UInt8(ascii: "m"): integer(arguments.mode)
                        case UInt8(ascii: "k"): integer(arguments.directions)
                        case UInt8(ascii: "q"): integer(arguments.needed)
                        case UInt8(ascii: "l"): slot.storeBytes(of: arguments.l, as: Double.self)
                        case UInt8(ascii: "x"): pointer(arguments.x)
                        case UInt8(ascii: "y"): pointer(arguments.y)
                        case UInt8(ascii: "g"): pointer(arguments.g)
                        case UInt8(ascii: "X"): pointer(arguments.tangentX)
                        case UInt8(ascii: "d"): pointer(arguments.d)
                        case UInt8(ascii: "w"): pointer(arguments.w)
                        case UInt8(ascii: "W"): pointer(arguments.tangentW)
                        case UInt8(ascii: "D"): pointer(arguments.weightGradients)
                        case UInt8(ascii: "p"): pointer(arguments.p)
                        case UInt8(ascii: "s"): pointer(arguments.s)
                        case UInt8(ascii: "h"): pointer(arguments.h)
                        case UInt8(ascii: "I"): pointer(arguments.inputShape)
                        case UInt8(ascii: "O"): pointer(arguments.outputShape)
                        case UInt8(ascii: "u"): pointer(arguments.buffers)
                        case UInt8(ascii: "U"): pointer(arguments.bufferUpdates)
                        case UInt8(ascii: "r"): pointer(arguments.random)
                        case UInt8(ascii: "G"): pointer(arguments.tangentG)
                        case UInt8(ascii: "P"): pointer(arguments.parameterShape)
                        case UInt8(ascii: "S"): pointer(arguments.strings)
                        default: pointer(UnsafeMutableRawPointer(sinkPointer))  // 'e'
                        }
                        values[index] = slot
                    }
                    var result: Int64 = 0
                    lock.run { ffi_call(cif, unsafeBitCast(function, to: (@convention(c) () -> Void).self), &result, values.baseAddress) }
                    return result
                }
            }
        }
        guard Int32(truncatingIfNeeded: status) == SADDLE_OK else {
            throw PluginError.kernelFailed(component: component, slot: slot, message: message ?? "the kernel returned \(Int32(truncatingIfNeeded: status)) without a message")
        }
    }
}

/// `addresses` as a C array of pointers (the 'w', 'W', 'D', 'u', 'U' and 's' arguments; NULL
/// entries stand for zero tangents).
func withPointerArray<R>(_ addresses: [UnsafeMutableRawPointer?], _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
    let array = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(addresses.count, 1))
    defer { array.deallocate() }
    array[0] = nil
    for (index, address) in addresses.enumerated() { array[index] = address }
    return try body(UnsafeMutableRawPointer(array))
}

/// Pointers to a list of tensors' data (NULL where nil), as a C array of pointers.
func withPointerArray<R>(_ tensors: [Tensor?], _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
    try withPointerArray(tensors.map { $0?.unsafeAddress }, body)
}
