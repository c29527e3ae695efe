internal import CSaddleCore

/// A pair of extents, height then width: a kernel size, a stride or a dilation. An integer
/// literal stands for a square pair.
public struct Size2D: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The extent along the height axis.
    public var height: Int
    /// The extent along the width axis.
    public var width: Int

    /// A pair `height` x `width`.
    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    /// A square pair `value` x `value`.
    public init(integerLiteral value: Int) { self.init(value, value) }

    /// `(h, w)`, or the single extent of a square pair.
    public var description: String { height == width ? "\(height)" : "(\(height), \(width))" }
}

/// Zero padding on the four sides of an image; top and bottom (left and right) may differ, as
/// `"same"` padding of an even kernel needs.
public struct Padding2D: Sendable, Hashable, CustomStringConvertible {
    /// Rows added above.
    public var top: Int
    /// Rows added below.
    public var bottom: Int
    /// Columns added on the left.
    public var left: Int
    /// Columns added on the right.
    public var right: Int

    /// Padding with each side given.
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
    }

    /// The same padding above and below (`size.height`) and on both sides (`size.width`).
    public init(_ size: Size2D) { self.init(top: size.height, bottom: size.height, left: size.width, right: size.width) }

    /// No padding.
    public static let zero = Padding2D(0)

    /// The padding that keeps the size of a stride-1 convolution (PyTorch's `padding="same"`):
    /// d (k - 1) in total along each axis, the odd extra row or column going below or right.
    public static func same(kernel: Size2D, dilation: Size2D = 1) -> Padding2D {
        let vertical = dilation.height * (kernel.height - 1)
        let horizontal = dilation.width * (kernel.width - 1)
        return Padding2D(top: vertical / 2, bottom: vertical - vertical / 2, left: horizontal / 2, right: horizontal - horizontal / 2)
    }

    /// `top/bottom/left/right`, or the pair when symmetric.
    public var description: String {
        top == bottom && left == right ? Size2D(top, left).description : "(top \(top), bottom \(bottom), left \(left), right \(right))"
    }
}

/// How a window slides over an image: kernel, stride, padding and dilation. Shared by
/// convolution and pooling.
public struct Window2D: Sendable, Hashable, CustomStringConvertible {
    /// The window's extent.
    public let kernel: Size2D
    /// The step between windows.
    public let stride: Size2D
    /// Zero (convolution) or excluded (max pooling) positions around the image.
    public let padding: Padding2D
    /// The spacing of the window's taps.
    public let dilation: Size2D

    /// The largest kernel, stride, padding or dilation extent accepted (far beyond any image).
    public static let maximumExtent = 1 << 20

    /// A window; every extent must be at least 1 (padding at least 0) and at most `maximumExtent`.
    /// - Throws: `TensorError.invalidArgument` naming the extent that is out of range.
    public init(kernel: Size2D, stride: Size2D = 1, padding: Padding2D = .zero, dilation: Size2D = 1) throws {
        for (name, value, least) in [
            ("kernel height", kernel.height, 1), ("kernel width", kernel.width, 1), ("stride height", stride.height, 1),
            ("stride width", stride.width, 1), ("dilation height", dilation.height, 1), ("dilation width", dilation.width, 1),
            ("top padding", padding.top, 0), ("bottom padding", padding.bottom, 0), ("left padding", padding.left, 0),
            ("right padding", padding.right, 0),
        ] where value < least || value > Window2D.maximumExtent {
            throw TensorError.invalidArgument(
                op: "window", reason: "\(name) \(value) must be in \(least)...\(Window2D.maximumExtent)")
        }
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    /// The output extents over an input of `height` x `width`:
    /// (height + top + bottom - d (k - 1) - 1) / stride + 1 along each axis.
    /// - Throws: `TensorError.invalidArgument` when the padded input is smaller than the dilated kernel.
    public func outputSize(height: Int, width: Int, op: String) throws -> Size2D {
        let spanH = dilation.height * (kernel.height - 1) + 1
        let spanW = dilation.width * (kernel.width - 1) + 1
        let paddedH = height + padding.top + padding.bottom
        let paddedW = width + padding.left + padding.right
        guard paddedH >= spanH, paddedW >= spanW else {
            throw TensorError.invalidArgument(
                op: op,
                reason: "the input \(height)x\(width) padded to \(paddedH)x\(paddedW) is smaller than the kernel \(kernel) spanning \(spanH)x\(spanW)")
        }
        return Size2D((paddedH - spanH) / stride.height + 1, (paddedW - spanW) / stride.width + 1)
    }

    /// The C description of this window over `channels` planes of `height` x `width`.
    func raw(channels: Int, height: Int, width: Int, output: Size2D) -> SaddleWindow {
        SaddleWindow(
            c: Int64(channels), h: Int64(height), w: Int64(width), kh: Int64(kernel.height), kw: Int64(kernel.width),
            sh: Int64(stride.height), sw: Int64(stride.width), ph: Int64(padding.top), pw: Int64(padding.left),
            dh: Int64(dilation.height), dw: Int64(dilation.width), oh: Int64(output.height), ow: Int64(output.width))
    }

    /// "kernel 3, stride 2, padding 1" (dilation only when not 1).
    public var description: String {
        "kernel \(kernel), stride \(stride), padding \(padding)" + (dilation == 1 ? "" : ", dilation \(dilation)")
    }
}

extension Tensor {
    /// Checks that this is `[batch, channels, height, width]` for `op`.
    func requireImages(_ op: String) throws {
        guard rank == 4 else {
            throw TensorError.shapeMismatch(op: op, shapes: [shape], reason: "input must be images [batch, channels, height, width]")
        }
    }

    /// A view of `count` elements of this tensor's storage from element `start`, shaped `shape`.
    func view(from start: Int, shape: [Int]) -> Tensor {
        Tensor(storage: storage, offset: offset + start, shape: shape)
    }
}
