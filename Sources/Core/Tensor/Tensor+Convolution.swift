internal import CSaddleCore
import Dispatch
import Synchronization

/// The shape-independent settings of a 2-D convolution: stride, padding, dilation and groups
/// (the kernel size is the weight's).
public struct Convolution2DOptions: Sendable, Hashable {
    /// The step between output positions.
    public var stride: Size2D
    /// Zero padding around the input.
    public var padding: Padding2D
    /// The spacing of the kernel's taps.
    public var dilation: Size2D
    /// Channel groups: input and output channels split into `groups` blocks, block g of the
    /// output seeing only block g of the input (PyTorch's `groups`).
    public var groups: Int

    /// Options; defaults are those of `torch.nn.Conv2d`.
    public init(stride: Size2D = 1, padding: Padding2D = .zero, dilation: Size2D = 1, groups: Int = 1) {
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// The window of a kernel `kernel` with these options.
    /// - Throws: `TensorError.invalidArgument` for an extent out of range.
    public func window(kernel: Size2D) throws -> Window2D {
        try Window2D(kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    }
}

/// The checked geometry of one convolution: input `[n, c, h, w]`, weight `[o, c / groups, kh, kw]`,
/// output `[n, o, oh, ow]`.
struct ConvolutionPlan {
    let batch, channels, height, width, outChannels, groups: Int
    let window: Window2D
    let output: Size2D

    /// Rows of the lowered input per group (c / groups kh kw) and in all (c kh kw).
    var groupRows: Int { channels / groups * window.kernel.height * window.kernel.width }
    var rows: Int { groupRows * groups }
    var outputPlane: Int { output.height * output.width }
    var inputShape: [Int] { [batch, channels, height, width] }
    var outputShape: [Int] { [batch, outChannels, output.height, output.width] }
    var weightShape: [Int] { [outChannels, channels / groups, window.kernel.height, window.kernel.width] }

    /// Stride-1 convolutions use the padded-row lowering: each image is zero-padded once, and
    /// every row of the lowered matrix is one contiguous copy of a padded plane from the tap's
    /// offset, covering oh x wp lanes (the wp - ow lanes past each output row are computed and
    /// dropped). Strided ones use the classic im2col.
    var rowLowering: Bool { window.stride == 1 }
    /// Padded plane extents.
    var paddedHeight: Int { height + window.padding.top + window.padding.bottom }
    var paddedWidth: Int { width + window.padding.left + window.padding.right }
    /// Elements per padded plane, with room for the last taps' reads past the plane.
    var paddedPlane: Int { paddedHeight * paddedWidth + (window.kernel.width - 1) * window.dilation.width }
    /// Lowered columns per image, and the width of an output row within them.
    var lanes: Int { rowLowering ? output.height * paddedWidth : outputPlane }
    var rowWidth: Int { rowLowering ? paddedWidth : output.width }

    /// The lowered input of one chunk is at most this many elements (2 MiB of Float32; one
    /// image more when a single image's lowering is larger), so memory stays bounded whatever
    /// the batch: images are lowered and multiplied a chunk at a time. Small chunks also keep
    /// the lowered matrix in the cache between its writing and the GEMM reading it: on the
    /// benchmark machine 2^19 gave the CNN step 75-103 ms (median 77, 5 runs) where 2^22 gave
    /// 107-108 ms (2 runs), interleaved, `saddle-bench --only cnn_fmnist_b128_step_ms`.
    static let chunkElements = 1 << 19

    /// Images per chunk.
    var chunk: Int { Swift.max(1, Swift.min(batch, ConvolutionPlan.chunkElements / Swift.max(1, rows * lanes))) }

    /// The number of chunks the batch is lowered in.
    var chunkCount: Int { (batch + chunk - 1) / chunk }

    /// Runs `body(index, first, count, cols, rows, padded, split)` for every chunk of images,
    /// with scratch for one chunk: the lowered matrix [rows, chunk lanes], the per-channel
    /// output rows [out, chunk lanes], and the padded images of the row lowering; from
    /// `workspace` when given, freshly allocated otherwise. When the cores are free, chunks run
    /// concurrently, each part with its own scratch, and `split` is false (the chunk's kernels
    /// stay on its core); each chunk's arithmetic is the same either way.
    func forEachChunk(
        _ workspace: ConvolutionWorkspace?, dtype: DType,
        _ body: @Sendable (_ index: Int, _ first: Int, _ count: Int, _ cols: Tensor, _ rows: Tensor, _ padded: Tensor, _ split: Bool) throws -> Void
    ) throws {
        let (chunk, chunks, batch) = (self.chunk, chunkCount, self.batch)
        let parts = Parallel.parts(chunks, elements: batch * rows * lanes, minimum: Parallel.minimumLowering)
        let shapes = [[rows, chunk * lanes], [outChannels, chunk * lanes], [rowLowering ? chunk * channels * paddedPlane : 0]]
        let sizes = shapes.map { $0.reduce(1, *) }
        func run(_ flat: [Tensor]) throws {
            let errors = Mutex<(any Error)?>(nil)
            @Sendable func work(_ part: Int) {
                let scratch = (0..<3).map { flat[$0].view(from: part * sizes[$0], shape: shapes[$0]) }
                do {
                    for index in stride(from: part, to: chunks, by: parts) {
                        let first = index * chunk
                        try body(index, first, Swift.min(chunk, batch - first), scratch[0], scratch[1], scratch[2], parts == 1)
                    }
                } catch {
                    errors.withLock { $0 = $0 ?? error }
                }
            }
            if parts == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: parts) { work($0) } }
            if let error = errors.withLock({ $0 }) { throw error }
        }
        let counts = sizes.map { $0 * parts }
        guard let workspace else {
            return try run(counts.map { Tensor(uninitializedShape: [$0], dtype: dtype) })
        }
        try workspace.withScratch(counts, dtype: dtype, run)
    }

    init(op: String, input: [Int], weight: [Int], options: Convolution2DOptions) throws {
        guard input.count == 4, weight.count == 4 else {
            throw TensorError.shapeMismatch(
                op: op, shapes: [input, weight], reason: "need input [batch, channels, height, width] and weight [out, in / groups, kh, kw]")
        }
        let groups = options.groups
        guard groups >= 1, weight[0] % groups == 0, input[1] == weight[1] * groups else {
            throw TensorError.shapeMismatch(
                op: op, shapes: [input, weight],
                reason: "groups \(groups) must divide the \(weight[0]) output channels, and the input's \(input[1]) channels must be \(groups) x the weight's \(weight[1])")
        }
        guard weight.allSatisfy({ $0 >= 1 }), input[1...].allSatisfy({ $0 >= 1 }) else {
            throw TensorError.shapeMismatch(op: op, shapes: [input, weight], reason: "channel and spatial extents must be at least 1")
        }
        window = try options.window(kernel: Size2D(weight[2], weight[3]))
        output = try window.outputSize(height: input[2], width: input[3], op: op)
        (batch, channels, height, width, outChannels, self.groups) = (input[0], input[1], input[2], input[3], weight[0], groups)
    }

    /// Throws unless `outputGradient` has this convolution's output shape and `other`'s dtype.
    func check(outputGradient: Tensor, against other: Tensor, op: String) throws {
        guard outputGradient.shape == outputShape else {
            throw TensorError.shapeMismatch(
                op: op, shapes: [outputGradient.shape, outputShape], reason: "the output gradient must have the convolution's output shape")
        }
        guard outputGradient.dtype == other.dtype else { throw TensorError.dtypeMismatch(op: op, dtypes: [outputGradient.dtype, other.dtype]) }
    }

    /// The C window of one image.
    var raw: SaddleWindow { window.raw(channels: channels, height: height, width: width, output: output) }
}

// MARK: - Raw kernels (values only)

/// Lowers images `first ..< first + count` of `x` into `cols` [rows, count lanes] (through
/// `padded` for the row lowering).
private func lower(_ x: Tensor, plan: ConvolutionPlan, first: Int, count: Int, into cols: Tensor, padded: Tensor, split: Bool) {
    let (image, lanes, ld) = (plan.channels * plan.height * plan.width, plan.lanes, Int64(count * plan.lanes))
    let (c, kh, kw, dh, dw) = (plan.channels, plan.window.kernel.height, plan.window.kernel.width, plan.window.dilation.height, plan.window.dilation.width)
    let (top, left, hp, wp, stride) = (plan.window.padding.top, plan.window.padding.left, plan.paddedHeight, plan.paddedWidth, plan.paddedPlane)
    let window = plan.raw
    Parallel.forEachRange(count, elements: split ? count * plan.rows * lanes : 0, minimum: Parallel.minimumLowering) { range in
        guard plan.rowLowering else {
            for i in range {
                switch x.dtype {
                case .float32: saddle_im2col_f32(x.pointer(Float.self) + (first + i) * image, window, cols.pointer(Float.self) + i * lanes, ld)
                case .float64: saddle_im2col_f64(x.pointer(Double.self) + (first + i) * image, window, cols.pointer(Double.self) + i * lanes, ld)
                }
            }
            return
        }
        let n = Int64(range.count)
        let (source, target, column) = ((first + range.lowerBound) * image, range.lowerBound * c * stride, range.lowerBound * lanes)
        switch x.dtype {
        case .float32:
            saddle_pad_planes_f32(
                x.pointer(Float.self) + source, n * Int64(c), Int64(plan.height), Int64(plan.width), Int64(top), Int64(left), Int64(hp), Int64(wp),
                Int64(stride), padded.pointer(Float.self) + target)
            saddle_lower_rows_f32(
                padded.pointer(Float.self) + target, n, Int64(c), Int64(stride), Int64(wp), Int64(kh), Int64(kw), Int64(dh), Int64(dw),
                Int64(lanes), cols.pointer(Float.self) + column, ld)
        case .float64:
            saddle_pad_planes_f64(
                x.pointer(Double.self) + source, n * Int64(c), Int64(plan.height), Int64(plan.width), Int64(top), Int64(left), Int64(hp), Int64(wp),
                Int64(stride), padded.pointer(Double.self) + target)
            saddle_lower_rows_f64(
                padded.pointer(Double.self) + target, n, Int64(c), Int64(stride), Int64(wp), Int64(kh), Int64(kw), Int64(dh), Int64(dw),
                Int64(lanes), cols.pointer(Double.self) + column, ld)
        }
    }
}

/// Adds the lowered gradient `cols` back into images `first ..< first + count` of `dx` (which
/// must be zero there), through `padded` for the row lowering.
private func raise(_ cols: Tensor, plan: ConvolutionPlan, first: Int, count: Int, into dx: Tensor, padded: Tensor, split: Bool) {
    let (image, lanes, ld) = (plan.channels * plan.height * plan.width, plan.lanes, Int64(count * plan.lanes))
    let (c, kh, kw, dh, dw) = (plan.channels, plan.window.kernel.height, plan.window.kernel.width, plan.window.dilation.height, plan.window.dilation.width)
    let (top, left, wp, stride) = (plan.window.padding.top, plan.window.padding.left, plan.paddedWidth, plan.paddedPlane)
    let window = plan.raw
    Parallel.forEachRange(count, elements: split ? count * plan.rows * lanes : 0, minimum: Parallel.minimumLowering) { range in
        guard plan.rowLowering else {
            for i in range {
                switch dx.dtype {
                case .float32: saddle_col2im_f32(cols.pointer(Float.self) + i * lanes, ld, window, dx.pointer(Float.self) + (first + i) * image)
                case .float64: saddle_col2im_f64(cols.pointer(Double.self) + i * lanes, ld, window, dx.pointer(Double.self) + (first + i) * image)
                }
            }
            return
        }
        let n = Int64(range.count)
        let (target, scratch, column) = ((first + range.lowerBound) * image, range.lowerBound * c * stride, range.lowerBound * lanes)
        let planes = n * Int64(c)
        switch dx.dtype {
        case .float32:
            saddle_fill_f32(padded.pointer(Float.self) + scratch, 0, planes * Int64(stride))
            saddle_raise_rows_f32(
                cols.pointer(Float.self) + column, ld, n, Int64(c), Int64(stride), Int64(wp), Int64(kh), Int64(kw), Int64(dh), Int64(dw),
                Int64(lanes), padded.pointer(Float.self) + scratch)
            saddle_crop_planes_f32(
                padded.pointer(Float.self) + scratch, planes, Int64(plan.height), Int64(plan.width), Int64(top), Int64(left), Int64(wp),
                Int64(stride), dx.pointer(Float.self) + target)
        case .float64:
            saddle_fill_f64(padded.pointer(Double.self) + scratch, 0, planes * Int64(stride))
            saddle_raise_rows_f64(
                cols.pointer(Double.self) + column, ld, n, Int64(c), Int64(stride), Int64(wp), Int64(kh), Int64(kw), Int64(dh), Int64(dw),
                Int64(lanes), padded.pointer(Double.self) + scratch)
            saddle_crop_planes_f64(
                padded.pointer(Double.self) + scratch, planes, Int64(plan.height), Int64(plan.width), Int64(top), Int64(left), Int64(wp),
                Int64(stride), dx.pointer(Double.self) + target)
        }
    }
}

/// Copies images `first ..< first + count` of `y` [n, o, oh, ow] into `rows` [o, count lanes]
/// (zeros in the dropped lanes), or back.
private func arrange(_ y: Tensor, plan: ConvolutionPlan, first: Int, count: Int, rows: Tensor, toRows: Bool, split: Bool) {
    let (o, oh, ow, wp) = (Int64(plan.outChannels), Int64(plan.output.height), Int64(plan.output.width), Int64(plan.rowWidth))
    let (s, lanes) = (plan.outputPlane, plan.lanes)
    let ld = Int64(count * lanes)
    Parallel.forEachRange(count, elements: split ? count * plan.outChannels * lanes : 0, minimum: Parallel.minimumLowering) { range in
        let (n, start, column) = (Int64(range.count), (first + range.lowerBound) * plan.outChannels * s, range.lowerBound * lanes)
        switch y.dtype {
        case .float32:
            let (planes, matrix) = (y.pointer(Float.self) + start, rows.pointer(Float.self) + column)
            if toRows { saddle_planes_to_rows_f32(planes, n, o, oh, ow, wp, matrix, ld) } else { saddle_rows_to_planes_f32(matrix, ld, n, o, oh, ow, wp, planes) }
        case .float64:
            let (planes, matrix) = (y.pointer(Double.self) + start, rows.pointer(Double.self) + column)
            if toRows { saddle_planes_to_rows_f64(planes, n, o, oh, ow, wp, matrix, ld) } else { saddle_rows_to_planes_f64(matrix, ld, n, o, oh, ow, wp, planes) }
        }
    }
}

/// The group-`g` block of `rowsPerGroup` rows of a row-major matrix with `width` columns.
private func block(_ t: Tensor, group g: Int, rowsPerGroup: Int, width: Int) -> Tensor {
    t.view(from: g * rowsPerGroup * width, shape: [rowsPerGroup, width])
}

/// y = conv(x, w) + b, chunk by chunk: lower, one GEMM per group, rearrange.
private func convolutionValues(_ x: Tensor, _ w: Tensor, _ b: Tensor?, plan: ConvolutionPlan, workspace: ConvolutionWorkspace?) throws -> Tensor {
    let y = Tensor(uninitializedShape: plan.outputShape, dtype: x.dtype)
    let (og, kg) = (plan.outChannels / plan.groups, plan.groupRows)
    let weights = w.detached.viewed(as: [plan.outChannels, kg])
    try plan.forEachChunk(workspace, dtype: x.dtype) { _, first, count, cols, rows, padded, split in
        let ld = count * plan.lanes
        lower(x, plan: plan, first: first, count: count, into: cols, padded: padded, split: split)
        if let b {
            fillRowsWithBias(b, rows: rows, width: ld)
        }
        for g in 0..<plan.groups {
            var out = block(rows, group: g, rowsPerGroup: og, width: ld)
            try Tensor.gemm(
                block(weights, group: g, rowsPerGroup: og, width: kg), transposeA: false,
                block(cols, group: g, rowsPerGroup: kg, width: ld), transposeB: false, into: &out, beta: b == nil ? 0 : 1, blocked: false)
        }
        arrange(y, plan: plan, first: first, count: count, rows: rows, toRows: false, split: split)
    }
    return y
}

/// Sets row j of `rows` (first `width` columns, leading dimension `width`) to b[j].
private func fillRowsWithBias(_ b: Tensor, rows: Tensor, width: Int) {
    for j in 0..<b.count {
        switch b.dtype {
        case .float32: saddle_fill_f32(rows.pointer(Float.self) + j * width, b.pointer(Float.self)[j], Int64(width))
        case .float64: saddle_fill_f64(rows.pointer(Double.self) + j * width, b.pointer(Double.self)[j], Int64(width))
        }
    }
}

/// dx = conv^T(g; w): per chunk, one GEMM per group into the lowered layout, then col2im.
private func inputGradientValues(_ g: Tensor, _ w: Tensor, plan: ConvolutionPlan, workspace: ConvolutionWorkspace?) throws -> Tensor {
    var dx = plan.rowLowering ? Tensor(uninitializedShape: plan.inputShape, dtype: g.dtype) : Tensor.zeros(plan.inputShape, dtype: g.dtype)
    dx.prepareForMutation()
    let (og, kg) = (plan.outChannels / plan.groups, plan.groupRows)
    let weights = w.detached.viewed(as: [plan.outChannels, kg])
    let target = dx
    try plan.forEachChunk(workspace, dtype: g.dtype) { _, first, count, cols, rows, padded, split in
        let ld = count * plan.lanes
        arrange(g, plan: plan, first: first, count: count, rows: rows, toRows: true, split: split)
        for group in 0..<plan.groups {
            var out = block(cols, group: group, rowsPerGroup: kg, width: ld)
            try Tensor.gemm(
                block(weights, group: group, rowsPerGroup: og, width: kg), transposeA: true,
                block(rows, group: group, rowsPerGroup: og, width: ld), transposeB: false, into: &out, beta: 0, blocked: false)
        }
        raise(cols, plan: plan, first: first, count: count, into: target, padded: padded, split: split)
    }
    return dx
}

/// dw = sum over images of g lowered(x)^T: one GEMM per group and chunk into the chunk's own
/// partial sum, then the partials added in chunk order (so the bits do not depend on how many
/// chunks ran at once).
private func weightGradientValues(_ x: Tensor, _ g: Tensor, plan: ConvolutionPlan, workspace: ConvolutionWorkspace?) throws -> Tensor {
    let (og, kg) = (plan.outChannels / plan.groups, plan.groupRows)
    let size = plan.outChannels * kg
    var partials = Tensor(uninitializedShape: [Swift.max(1, plan.chunkCount), size], dtype: x.dtype)
    partials.prepareForMutation()
    if plan.batch == 0 { partials.fill(with: 0) }
    let sums = partials
    try plan.forEachChunk(workspace, dtype: x.dtype) { index, first, count, cols, rows, padded, split in
        let ld = count * plan.lanes
        let target = sums.view(from: index * size, shape: [plan.outChannels, kg])
        lower(x, plan: plan, first: first, count: count, into: cols, padded: padded, split: split)
        arrange(g, plan: plan, first: first, count: count, rows: rows, toRows: true, split: split)
        for group in 0..<plan.groups {
            var out = block(target, group: group, rowsPerGroup: og, width: kg)
            try Tensor.gemm(
                block(rows, group: group, rowsPerGroup: og, width: ld), transposeA: false,
                block(cols, group: group, rowsPerGroup: kg, width: ld), transposeB: true, into: &out, beta: 0, blocked: false)
        }
    }
    return partials.rawSum(axis: 0, keepingAxis: false).viewed(as: plan.weightShape)
}

// MARK: - Differentiable operations

/// The 2-D convolution (cross-correlation, as PyTorch computes it) of images `input`
/// `[batch, in, height, width]` with `weight` `[out, in / groups, kh, kw]` (PyTorch's layout)
/// plus an optional `bias` `[out]`; the result is `[batch, out, oh, ow]`.
///
/// Lowered to matrix products (one GEMM per group) a chunk of images at a time, so the lowered
/// input stays within 2^19 elements (2 MiB of Float32) per thread whatever the batch; the
/// threads of `ComputeThreads` take chunks in turn, each lowering and multiplying its chunk on
/// its own core. That scratch comes
/// from `workspace` when given (a layer passes its forward context's), and the backward pass
/// and forward-mode rules of the recorded operation reuse it. The gradients are the two adjoint
/// operations `conv2dInputGradient` and `conv2dWeightGradient`, each differentiable in turn,
/// so Hessian-vector products and full Hessians through a convolution are exact.
/// - Throws: `TensorError` when the shapes, groups or dtypes disagree or the kernel does not fit
///   the padded input.
public func conv2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil, options: Convolution2DOptions = Convolution2DOptions(),
    workspace: ConvolutionWorkspace? = nil
) throws -> Tensor {
    let plan = try ConvolutionPlan(op: "conv2d", input: input.shape, weight: weight.shape, options: options)
    guard input.dtype == weight.dtype else { throw TensorError.dtypeMismatch(op: "conv2d", dtypes: [input.dtype, weight.dtype]) }
    if let bias {
        guard bias.shape == [plan.outChannels] else {
            throw TensorError.shapeMismatch(op: "conv2d", shapes: [weight.shape, bias.shape], reason: "bias must be [out]")
        }
        guard bias.dtype == input.dtype else { throw TensorError.dtypeMismatch(op: "conv2d", dtypes: [input.dtype, bias.dtype]) }
    }
    let output = try convolutionValues(input, weight, bias, plan: plan, workspace: workspace)
    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    return Tensor.record(
        "conv2d", inputs: inputs, output: output,
        tangent: { c in try convolutionTangent(c, plan: plan, options: options, workspace: workspace) }
    ) { c in
        let (x, w, g) = (c.inputs[0], c.inputs[1], c.cotangent)
        var grads: [Tensor?] = [
            c.needsGradient(0) ? try conv2dInputGradient(g, weight: w, inputShape: x.shape, options: options, workspace: workspace) : nil,
            c.needsGradient(1) ? try conv2dWeightGradient(x, outputGradient: g, weightShape: w.shape, options: options, workspace: workspace) : nil,
        ]
        if c.inputs.count == 3 {
            grads.append(c.needsGradient(2) ? try channelSums(g) : nil)
        }
        return grads
    }
}

/// The sum of `[n, c, h, w]` over every axis but the channels: `[c]`.
private func channelSums(_ g: Tensor) throws -> Tensor {
    try g.reshaped(to: [g.shape[0], g.shape[1], g.count / Swift.max(1, g.shape[0] * g.shape[1])]).sum(alongAxis: 2).sum(alongAxis: 0)
}

/// The adjoint of `conv2d` in its input: the gradient `[batch, in, height, width]` of
/// <conv2d(x, weight), outputGradient> with respect to x (PyTorch's `conv_transpose2d` of
/// `outputGradient` with the same weight and options). Linear in both arguments and
/// differentiable in both. Scratch comes from `workspace` when given.
/// - Throws: `TensorError` when the shapes disagree.
public func conv2dInputGradient(
    _ outputGradient: Tensor, weight: Tensor, inputShape: [Int], options: Convolution2DOptions = Convolution2DOptions(),
    workspace: ConvolutionWorkspace? = nil
) throws -> Tensor {
    let plan = try ConvolutionPlan(op: "conv2dInputGradient", input: inputShape, weight: weight.shape, options: options)
    try plan.check(outputGradient: outputGradient, against: weight, op: "conv2dInputGradient")
    let value = try inputGradientValues(outputGradient, weight, plan: plan, workspace: workspace)
    return Tensor.record(
        "conv2dInputGradient", inputs: [outputGradient, weight], output: value,
        tangent: { c in try inputGradientTangent(c, plan: plan, options: options, workspace: workspace) }
    ) { c in
        let (g, w, u) = (c.inputs[0], c.inputs[1], c.cotangent)
        return [
            c.needsGradient(0) ? try conv2d(u, weight: w, options: options, workspace: workspace) : nil,
            c.needsGradient(1) ? try conv2dWeightGradient(u, outputGradient: g, weightShape: w.shape, options: options, workspace: workspace) : nil,
        ]
    }
}

/// The adjoint of `conv2d` in its weight: the gradient `weightShape` of
/// <conv2d(input, w), outputGradient> with respect to w. Linear in both arguments and
/// differentiable in both. Scratch comes from `workspace` when given.
/// - Throws: `TensorError` when the shapes disagree.
public func conv2dWeightGradient(
    _ input: Tensor, outputGradient: Tensor, weightShape: [Int], options: Convolution2DOptions = Convolution2DOptions(),
    workspace: ConvolutionWorkspace? = nil
) throws -> Tensor {
    let plan = try ConvolutionPlan(op: "conv2dWeightGradient", input: input.shape, weight: weightShape, options: options)
    try plan.check(outputGradient: outputGradient, against: input, op: "conv2dWeightGradient")
    let value = try weightGradientValues(input, outputGradient, plan: plan, workspace: workspace)
    return Tensor.record(
        "conv2dWeightGradient", inputs: [input, outputGradient], output: value,
        tangent: { c in try weightGradientTangent(c, plan: plan, options: options, workspace: workspace) }
    ) { c in
        let (x, g, v) = (c.inputs[0], c.inputs[1], c.cotangent)
        return [
            c.needsGradient(0) ? try conv2dInputGradient(g, weight: v, inputShape: x.shape, options: options, workspace: workspace) : nil,
            c.needsGradient(1) ? try conv2d(x, weight: v, options: options, workspace: workspace) : nil,
        ]
    }
}

// MARK: - Forward-mode rules (bilinear: one term per argument)

/// Direction d of a batched tangent `[directions] + shape`.
private func direction(_ t: Tensor, _ d: Int, shape: [Int]) throws -> Tensor {
    try t.rows(d..<(d + 1)).reshaped(to: shape)
}

/// Stacks per-direction results `[p] + shape`.
private func stacked(_ parts: [Tensor]) throws -> Tensor {
    try Tensor.concatenating(parts.map { try $0.reshaped(to: [1] + $0.shape) }, alongAxis: 0)
}

/// A tangent whose batch axis can absorb the directions: `[p, n, ...]` as `[p n, ...]`.
private func merged(_ t: Tensor) throws -> Tensor {
    try t.reshaped(to: [t.shape[0] * t.shape[1]] + t.shape.dropFirst(2))
}

private func sum(_ a: Tensor?, _ b: Tensor?) throws -> Tensor? {
    guard let a else { return b }
    guard let b else { return a }
    return try a + b
}

private func convolutionTangent(
    _ c: TangentContext, plan: ConvolutionPlan, options: Convolution2DOptions, workspace: ConvolutionWorkspace?
) throws -> Tensor? {
    let (p, x, w) = (c.directions, c.inputs[0], c.inputs[1])
    var total: Tensor?
    if let tx = c.tangents[0] {
        total = try conv2d(merged(tx), weight: w, options: options, workspace: workspace).reshaped(to: [p] + plan.outputShape)
    }
    if let tw = c.tangents[1] {
        total = try sum(total, stacked((0..<p).map { try conv2d(x, weight: direction(tw, $0, shape: w.shape), options: options, workspace: workspace) }))
    }
    if c.inputs.count == 3, let tb = c.tangents[2] {
        total = try sum(total, tb.reshaped(to: [p, 1, plan.outChannels, 1, 1]))
    }
    return try total.map(c.complete)
}

private func inputGradientTangent(
    _ c: TangentContext, plan: ConvolutionPlan, options: Convolution2DOptions, workspace: ConvolutionWorkspace?
) throws -> Tensor? {
    let (p, g, w) = (c.directions, c.inputs[0], c.inputs[1])
    var total: Tensor?
    if let tg = c.tangents[0] {
        var shape = plan.inputShape
        shape[0] *= p
        total = try conv2dInputGradient(merged(tg), weight: w, inputShape: shape, options: options, workspace: workspace).reshaped(to: [p] + plan.inputShape)
    }
    if let tw = c.tangents[1] {
        total = try sum(total, stacked((0..<p).map {
            try conv2dInputGradient(g, weight: direction(tw, $0, shape: w.shape), inputShape: plan.inputShape, options: options, workspace: workspace)
        }))
    }
    return total
}

private func weightGradientTangent(
    _ c: TangentContext, plan: ConvolutionPlan, options: Convolution2DOptions, workspace: ConvolutionWorkspace?
) throws -> Tensor? {
    let (p, x, g) = (c.directions, c.inputs[0], c.inputs[1])
    var total: Tensor?
    if let tx = c.tangents[0] {
        total = try stacked((0..<p).map {
            try conv2dWeightGradient(direction(tx, $0, shape: x.shape), outputGradient: g, weightShape: plan.weightShape, options: options, workspace: workspace)
        })
    }
    if let tg = c.tangents[1] {
        total = try sum(total, stacked((0..<p).map {
            try conv2dWeightGradient(x, outputGradient: direction(tg, $0, shape: g.shape), weightShape: plan.weightShape, options: options, workspace: workspace)
        }))
    }
    return total
}
