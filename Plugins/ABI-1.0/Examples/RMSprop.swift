// zoo: an example Saddle plugin written in Swift. It exports the same C entry point as a C
// plugin and links no Saddle module: it sees only saddle_plugin.h.
//
//   zoo.rmsprop   RMSprop as PyTorch implements it (Tieleman and Hinton 2012):
//                 v = alpha v + (1 - alpha) g^2;  p = p - lr g / (sqrt(v) + eps)
//                 with optional L2 weight decay folded into g.
//
// Build (one line, from the repository root):
//   swiftc -emit-library -parse-as-library -O -I Plugins/ABI/include Plugins/Examples/zoo/RMSprop.swift -o libzoo.so
import CSaddlePluginABI

/// A C string with static storage (valid while the library is loaded).
private func text(_ string: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
}

private func rmsprop<T: BinaryFloatingPoint>(
    _ n: Int64, _ p: UnsafeMutablePointer<T>?, _ g: UnsafePointer<T>?, _ states: UnsafePointer<UnsafeMutablePointer<T>?>?,
    _ h: UnsafePointer<Double>?, _ learningRate: Double
) -> Int32 {
    guard let p, let g, let v = states?[0], let h else { return SADDLE_ERROR }
    let alpha = T(h[1])
    let epsilon = T(h[2])
    let decay = T(h[3])
    let rate = T(learningRate)
    for i in 0..<Int(n) {
        let gradient = g[i] + decay * p[i]
        v[i] = alpha * v[i] + (1 - alpha) * gradient * gradient
        p[i] -= rate * gradient / (v[i].squareRoot() + epsilon)
    }
    return SADDLE_OK
}

private let updateF32: @convention(c) (
    Int64, UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<UnsafeMutablePointer<Float>?>?, UnsafePointer<Double>?, Double
) -> Int32 = { n, p, g, s, h, l in rmsprop(n, p, g, s, h, l) }

private let updateF64: @convention(c) (
    Int64, UnsafeMutablePointer<Double>?, UnsafePointer<Double>?, UnsafePointer<UnsafeMutablePointer<Double>?>?, UnsafePointer<Double>?, Double
) -> Int32 = { n, p, g, s, h, l in rmsprop(n, p, g, s, h, l) }

private func parameter(_ name: StaticString, _ value: Double, _ minimum: Double, _ maximum: Double, _ summary: StaticString) -> saddle_parameter {
    saddle_parameter(
        struct_size: UInt32(MemoryLayout<saddle_parameter>.size), name: text(name), type: Int32(SADDLE_PARAMETER_NUMBER), required: 0,
        default_value: value, minimum: minimum, maximum: maximum, summary: text(summary))
}

/// The descriptor and the arrays it points to, allocated once and never freed (the host keeps
/// pointers for as long as the library is loaded).
nonisolated(unsafe) private let descriptor: UnsafeMutablePointer<saddle_optimizer> = {
    let parameters = UnsafeMutablePointer<saddle_parameter>.allocate(capacity: 4)
    parameters.initialize(from: [
        parameter("learning_rate", 0.01, 0, 1e6, "step size"),
        parameter("alpha", 0.99, 0, 0.999999, "decay of the squared-gradient average"),
        parameter("epsilon", 1e-8, 1e-300, 1, "added to the denominator"),
        parameter("weight_decay", 0, 0, 1e6, "L2 penalty coefficient"),
    ], count: 4)
    let states = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: 1)
    states.initialize(to: text("square_avg"))
    let kernel = saddle_kernel(
        struct_size: UInt32(MemoryLayout<saddle_kernel>.size), signature: text("npgshl"),
        f32: unsafeBitCast(updateF32, to: UnsafeMutableRawPointer.self), f64: unsafeBitCast(updateF64, to: UnsafeMutableRawPointer.self))
    let optimizer = UnsafeMutablePointer<saddle_optimizer>.allocate(capacity: 1)
    optimizer.initialize(to: saddle_optimizer(
        struct_size: UInt32(MemoryLayout<saddle_optimizer>.size), name: text("zoo.rmsprop"),
        summary: text("RMSprop (PyTorch's formulation), written in Swift"), parameter_count: 4, parameters: UnsafePointer(parameters),
        state_count: 1, state_names: UnsafePointer(states), update: kernel))
    return optimizer
}()

@_cdecl("saddle_plugin_init")
public func saddlePluginInit(_ host: UnsafePointer<saddle_host>?) -> Int32 {
    guard let host = host?.pointee, let declare = host.declare, let register = host.register_optimizer else { return SADDLE_ERROR }
    var info = saddle_plugin_info(
        struct_size: UInt32(MemoryLayout<saddle_plugin_info>.size), abi_major: UInt16(SADDLE_PLUGIN_ABI_MAJOR),
        abi_minor: UInt16(SADDLE_PLUGIN_ABI_MINOR), name: text("zoo"), version: text("1.0"),
        summary: text("an optimizer plugin written in Swift"))
    guard declare(host.context, &info) == SADDLE_OK else { return SADDLE_ERROR }
    return register(host.context, descriptor)
}
