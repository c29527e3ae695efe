extension Layer {
    /// A copy with every parameter and buffer taken from `tensors`, loaded strictly: a missing
    /// tensor, an unexpected one and a wrongly shaped one each throw their own error naming the
    /// path. Tensors are converted to the dtype of the ones they replace.
    /// - Parameter ignoring: paths in `tensors` that may be skipped without error.
    /// - Throws: `ModelError.missingTensor`, `.unexpectedTensor` or `.shapeMismatch`.
    public func loading(_ tensors: NamedTensors, ignoring: (String) -> Bool = { _ in false }) throws -> Self {
        let expected = self.tensors
        var replacements = NamedTensors()
        for (path, current) in expected {
            guard let new = tensors[path] else { throw ModelError.missingTensor(path: path) }
            guard new.shape == current.shape else {
                throw ModelError.shapeMismatch(path: path, expected: current.shape, actual: new.shape)
            }
            let converted = new.converted(to: current.dtype).detached
            // Narrowing Float64 to Float32 turns values beyond Float32's range into infinities.
            if new.dtype != current.dtype, let index = converted.firstNonFiniteIndex, new.firstNonFiniteIndex == nil {
                throw ModelError.invalidConfiguration(
                    layer: path, reason: "element \(index) (\(new.doubles[index])) does not fit \(current.dtype.rawValue)")
            }
            replacements[path] = converted
        }
        if let extra = tensors.paths.first(where: { !expected.contains($0) && !ignoring($0) }) {
            throw ModelError.unexpectedTensor(path: extra)
        }
        return try replacing(replacements)
    }
}
