internal import CSaddleCore

// MARK: - Selection by flat index (the differentiable core of max pooling)

/// The flat input positions a selection picks, in blocks: the outputs of block k (an image
/// plane for max pooling) pick only inputs of block k, so blocks can be processed on different
/// cores without two writing the same element.
struct Selection: Sendable {
    let index: [Int64]
    let blocks: Int
}

/// out[r, i] = x[r, index[i]] over `copies` stacked copies (`outputShape` includes them); not recorded.
private func gatherValues(_ x: Tensor, _ selection: Selection, outputShape: [Int], copies: Int) -> Tensor {
    let out = Tensor(uninitializedShape: outputShape, dtype: x.dtype)
    guard !selection.index.isEmpty, copies > 0 else { return out }
    let (inCount, outCount, blocks) = (x.count / copies, selection.index.count, selection.blocks)
    let outBlock = outCount / blocks
    selection.index.withUnsafeBufferPointer { idx in
        nonisolated(unsafe) let base = idx.baseAddress!
        Parallel.forEachRange(copies * blocks, elements: copies * outCount, minimum: Parallel.minimumElementwise) { units in
            for unit in units {
                let (copy, block) = (unit / blocks, unit % blocks)
                let (source, target) = (copy * inCount, copy * outCount + block * outBlock)
                switch x.dtype {
                case .float32:
                    saddle_gather_f32(x.pointer(Float.self) + source, Int64(inCount), base + block * outBlock, Int64(outBlock), 1, out.pointer(Float.self) + target)
                case .float64:
                    saddle_gather_f64(x.pointer(Double.self) + source, Int64(inCount), base + block * outBlock, Int64(outBlock), 1, out.pointer(Double.self) + target)
                }
            }
        }
    }
    return out
}

/// dx[r, index[i]] += g[r, i] into zeros of `inputShape` (which includes the copies); not recorded.
private func scatterValues(_ g: Tensor, _ selection: Selection, inputShape: [Int], copies: Int) -> Tensor {
    guard !selection.index.isEmpty, copies > 0 else { return Tensor.zeros(inputShape, dtype: g.dtype) }
    let dx = Tensor(uninitializedShape: inputShape, dtype: g.dtype)
    let (inCount, outCount, blocks) = (inputShape.reduce(1, *) / copies, selection.index.count, selection.blocks)
    let (inBlock, outBlock) = (inCount / blocks, outCount / blocks)
    selection.index.withUnsafeBufferPointer { idx in
        nonisolated(unsafe) let base = idx.baseAddress!
        Parallel.forEachRange(copies * blocks, elements: copies * inCount, minimum: Parallel.minimumElementwise) { units in
            for unit in units {
                let (copy, block) = (unit / blocks, unit % blocks)
                let (target, source) = (copy * inCount, copy * outCount + block * outBlock)
                switch g.dtype {
                case .float32:
                    saddle_fill_f32(dx.pointer(Float.self) + target + block * inBlock, 0, Int64(inBlock))
                    saddle_scatter_add_f32(g.pointer(Float.self) + source, Int64(outBlock), base + block * outBlock, Int64(inCount), 1, dx.pointer(Float.self) + target)
                case .float64:
                    saddle_fill_f64(dx.pointer(Double.self) + target + block * inBlock, 0, Int64(inBlock))
                    saddle_scatter_add_f64(g.pointer(Double.self) + source, Int64(outBlock), base + block * outBlock, Int64(inCount), 1, dx.pointer(Double.self) + target)
                }
            }
        }
    }
    return dx
}

/// Records `output` = x[index] (flat positions into x): the gradient scatters into the chosen
/// positions and the tangent gathers from them, so forward, backward and forward mode all use
/// the element the forward pass picked.
private func recordSelection(_ name: String, input x: Tensor, output: Tensor, selection: Selection) -> Tensor {
    let (inputShape, outputShape) = (x.shape, output.shape)
    return Tensor.record(
        name, inputs: [x], output: output,
        tangent: { c in
            guard let t = c.tangents[0] else { return nil }
            return gatherValues(t, selection, outputShape: [c.directions] + outputShape, copies: c.directions)
        }
    ) { c in
        [try scatterSelection(c.cotangent, selection, inputShape: inputShape)]
    }
}

/// The adjoint of a selection: zeros of `inputShape` with g added at the selected positions.
private func scatterSelection(_ g: Tensor, _ selection: Selection, inputShape: [Int]) throws -> Tensor {
    let outputShape = g.shape
    let value = scatterValues(g, selection, inputShape: inputShape, copies: 1)
    return Tensor.record(
        "scatterSelection", inputs: [g], output: value,
        tangent: { c in
            guard let t = c.tangents[0] else { return nil }
            return scatterValues(t, selection, inputShape: [c.directions] + inputShape, copies: c.directions)
        }
    ) { c in
        [recordSelection("selection", input: c.cotangent, output: gatherValues(c.cotangent, selection, outputShape: outputShape, copies: 1), selection: selection)]
    }
}

// MARK: - Pooling

/// The window and output size of a pooling of `input` `[batch, channels, height, width]`.
private func poolingGeometry(_ op: String, _ input: Tensor, _ window: Window2D) throws -> (Size2D, SaddleWindow, planes: Int) {
    try input.requireImages(op)
    let (h, w) = (input.shape[2], input.shape[3])
    guard window.padding.top <= window.kernel.height / 2, window.padding.left <= window.kernel.width / 2,
        window.padding.top == window.padding.bottom, window.padding.left == window.padding.right
    else {
        throw TensorError.invalidArgument(
            op: op, reason: "padding \(window.padding) must be symmetric and at most half the kernel \(window.kernel) (as in PyTorch)")
    }
    let output = try window.outputSize(height: h, width: w, op: op)
    return (output, window.raw(channels: 1, height: h, width: w, output: output), input.shape[0] * input.shape[1])
}

/// Max pooling of images `[batch, channels, height, width]` over `window` (PyTorch's
/// `max_pool2d`, floor mode): each output is the largest input of its window, positions in the
/// padding never chosen. Ties go to the first position in row-major order, as in PyTorch, and
/// the gradient and the forward-mode tangent use the same element, so derivatives agree with
/// the forward pass even after a ReLU has made ties common.
/// - Throws: `TensorError` for an input that is not 4-D, padding larger than half the kernel,
///   or a kernel larger than the padded input.
public func maxPool2d(_ input: Tensor, window: Window2D) throws -> Tensor {
    let (output, raw, planes) = try poolingGeometry("maxPool2d", input, window)
    let shape = [input.shape[0], input.shape[1], output.height, output.width]
    let values = Tensor(uninitializedShape: shape, dtype: input.dtype)
    var index = [Int64](repeating: 0, count: values.count)
    guard !index.isEmpty else { return recordSelection("maxPool2d", input: input, output: values, selection: Selection(index: index, blocks: 1)) }
    let (inPlane, outPlane) = (input.shape[2] * input.shape[3], output.height * output.width)
    index.withUnsafeMutableBufferPointer { idx in
        nonisolated(unsafe) let base = idx.baseAddress!
        Parallel.forEachRange(planes, elements: input.count) { range in
            let (n, first) = (Int64(range.count), range.lowerBound)
            // Indices are flat over the whole input, so this part's count from its first plane.
            let (source, target, indexBase) = (first * inPlane, first * outPlane, Int64(first * inPlane))
            switch input.dtype {
            case .float32:
                saddle_maxpool_f32(input.pointer(Float.self) + source, n, raw, values.pointer(Float.self) + target, base + target, indexBase)
            case .float64:
                saddle_maxpool_f64(input.pointer(Double.self) + source, n, raw, values.pointer(Double.self) + target, base + target, indexBase)
            }
        }
    }
    return recordSelection("maxPool2d", input: input, output: values, selection: Selection(index: index, blocks: Swift.max(planes, 1)))
}

/// Average pooling values over `planes` stacked planes (any leading axes); not recorded.
private func averageValues(_ x: Tensor, planes: Int, raw: SaddleWindow, outputShape: [Int]) -> Tensor {
    let out = Tensor(uninitializedShape: outputShape, dtype: x.dtype)
    switch x.dtype {
    case .float32: saddle_avgpool_f32(x.pointer(Float.self), Int64(planes), raw, out.pointer(Float.self))
    case .float64: saddle_avgpool_f64(x.pointer(Double.self), Int64(planes), raw, out.pointer(Double.self))
    }
    return out
}

/// The adjoint of average pooling over `planes` stacked planes; not recorded.
private func averageAdjointValues(_ g: Tensor, planes: Int, raw: SaddleWindow, inputShape: [Int]) -> Tensor {
    var dx = Tensor.zeros(inputShape, dtype: g.dtype)
    dx.prepareForMutation()
    switch g.dtype {
    case .float32: saddle_avgpool_adjoint_f32(g.pointer(Float.self), Int64(planes), raw, dx.pointer(Float.self))
    case .float64: saddle_avgpool_adjoint_f64(g.pointer(Double.self), Int64(planes), raw, dx.pointer(Double.self))
    }
    return dx
}

/// Average pooling of images `[batch, channels, height, width]` over `window` (PyTorch's
/// `avg_pool2d` in floor mode with `count_include_pad=True`: the divisor is always kh x kw).
/// Linear, so its gradient is its adjoint and both are differentiable.
/// - Throws: `TensorError` as `maxPool2d`.
public func avgPool2d(_ input: Tensor, window: Window2D) throws -> Tensor {
    let (output, raw, planes) = try poolingGeometry("avgPool2d", input, window)
    let shape = [input.shape[0], input.shape[1], output.height, output.width]
    return recordAveragePool(input, raw: raw, planes: planes, inputShape: input.shape, outputShape: shape)
}

private func recordAveragePool(_ x: Tensor, raw: SaddleWindow, planes: Int, inputShape: [Int], outputShape: [Int]) -> Tensor {
    Tensor.record(
        "avgPool2d", inputs: [x], output: averageValues(x, planes: planes, raw: raw, outputShape: outputShape),
        tangent: { c in
            guard let t = c.tangents[0] else { return nil }
            return averageValues(t, planes: planes * c.directions, raw: raw, outputShape: [c.directions] + outputShape)
        }
    ) { c in
        [recordAveragePoolAdjoint(c.cotangent, raw: raw, planes: planes, inputShape: inputShape, outputShape: outputShape)]
    }
}

private func recordAveragePoolAdjoint(_ g: Tensor, raw: SaddleWindow, planes: Int, inputShape: [Int], outputShape: [Int]) -> Tensor {
    Tensor.record(
        "avgPool2dAdjoint", inputs: [g], output: averageAdjointValues(g, planes: planes, raw: raw, inputShape: inputShape),
        tangent: { c in
            guard let t = c.tangents[0] else { return nil }
            return averageAdjointValues(t, planes: planes * c.directions, raw: raw, inputShape: [c.directions] + inputShape)
        }
    ) { c in
        [recordAveragePool(c.cotangent, raw: raw, planes: planes, inputShape: inputShape, outputShape: outputShape)]
    }
}

/// The mean of each channel of `[batch, channels, ...]` over its spatial positions:
/// `[batch, channels]` (PyTorch's `AdaptiveAvgPool2d(1)` followed by `Flatten`).
/// - Throws: `TensorError` for an input of fewer than 3 axes.
public func globalAveragePooled(_ input: Tensor) throws -> Tensor {
    guard input.rank >= 3 else {
        throw TensorError.shapeMismatch(op: "globalAveragePool", shapes: [input.shape], reason: "input must be [batch, channels, spatial...]")
    }
    let (n, c) = (input.shape[0], input.shape[1])
    return try input.reshaped(to: [n, c, input.count / Swift.max(1, n * c)]).mean(alongAxis: 2)
}
