import SaddleCore

/// Tensor names of PyTorch state dicts mapped to Saddle's paths.
public enum PyTorchNames {
    /// PyTorch's `nn.LSTM` suffixes its single layer's tensors with `_l0`
    /// (`weight_ih_l0`); Saddle's LSTM names them without (`weight_ih`).
    public static func importing(_ tensors: NamedTensors) -> NamedTensors {
        var result = NamedTensors()
        for (path, tensor) in tensors {
            var name = path
            for base in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] where name.hasSuffix(base + "_l0") {
                name = String(name.dropLast(3))
            }
            result[name] = tensor
        }
        return result
    }

    /// Entries PyTorch keeps that Saddle has no use for: BatchNorm's `num_batches_tracked`
    /// (PyTorch needs it only when momentum is None).
    public static func isIgnorable(_ path: String) -> Bool {
        path == "num_batches_tracked" || path.hasSuffix(".num_batches_tracked")
    }
}
