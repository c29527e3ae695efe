import SaddleCore

/// Tensor names of PyTorch state dicts mapped to Saddle's paths, both ways.
///
/// Saddle's paths already are PyTorch's for modules of the same structure (`0.weight`,
/// `head.bias`, `running_var`), except that `nn.LSTM` suffixes its single layer's tensors with
/// `_l0`. What names cannot express (a PyTorch module that nests the same layers under other
/// attribute names) goes in an explicit rename map of path prefixes.
public enum PyTorchNames {
    /// A prefix rename: Saddle paths starting with `saddle` (a whole number of path
    /// components) start with `pytorch` in the state dict, and back.
    public struct Rename: Sendable, Hashable {
        /// The prefix on Saddle's side (`0`, `features.3`).
        public var saddle: String
        /// The prefix on PyTorch's side (`encoder.conv`).
        public var pytorch: String

        /// A rename of the prefix `saddle` to `pytorch`.
        public init(saddle: String, pytorch: String) {
            self.saddle = saddle
            self.pytorch = pytorch
        }

        /// Parses `saddle=pytorch`.
        /// - Throws: `ModelError.invalidConfiguration` for a text without exactly one `=` or
        ///   with an empty side.
        public init(parsing text: String) throws {
            let sides = text.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
            guard sides.count == 2, !sides[0].isEmpty, !sides[1].isEmpty else {
                throw ModelError.invalidConfiguration(layer: "rename", reason: "\"\(text)\" must read saddle_prefix=pytorch_prefix")
            }
            self.init(saddle: sides[0], pytorch: sides[1])
        }
    }

    private static let lstmTensors = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]

    /// `path` with its longest renamed prefix replaced (`from` and `to` pick the direction).
    private static func renamed(_ path: String, _ renames: [Rename], from: KeyPath<Rename, String>, to: KeyPath<Rename, String>) -> String {
        let matching = renames.filter { path == $0[keyPath: from] || path.hasPrefix($0[keyPath: from] + ".") }
        guard let rename = matching.max(by: { $0[keyPath: from].count < $1[keyPath: from].count }) else { return path }
        return rename[keyPath: to] + path.dropFirst(rename[keyPath: from].count)
    }

    /// Saddle's tensors under PyTorch's names: LSTM tensors gain `_l0`, then `renames` apply.
    /// - Throws: `ModelError.invalidConfiguration` when two tensors would get the same name.
    public static func exporting(_ tensors: NamedTensors, renames: [Rename] = []) throws -> NamedTensors {
        var result = NamedTensors()
        for (path, tensor) in tensors {
            var name = path
            if let last = name.split(separator: ".").last, lstmTensors.contains(String(last)) { name += "_l0" }
            name = renamed(name, renames, from: \.saddle, to: \.pytorch)
            guard result[name] == nil else {
                throw ModelError.invalidConfiguration(layer: "rename", reason: "two tensors would both be named \(name) (the second is \(path))")
            }
            result[name] = tensor
        }
        return result
    }

    /// A PyTorch state dict under Saddle's paths: `renames` are undone, then `_l0` is dropped
    /// from LSTM tensors (`weight_ih_l0` to `weight_ih`).
    public static func importing(_ tensors: NamedTensors, renames: [Rename] = []) -> NamedTensors {
        var result = NamedTensors()
        for (path, tensor) in tensors {
            var name = renamed(path, renames, from: \.pytorch, to: \.saddle)
            for base in lstmTensors where name.hasSuffix(base + "_l0") {
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
