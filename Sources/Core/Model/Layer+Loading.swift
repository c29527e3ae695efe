extension Layer {
    /// A copy with every parameter and buffer taken from `tensors`, loaded strictly: a missing
    /// tensor, an unexpected one and a wrongly shaped one each throw their own error naming the
    /// path.
    ///
    /// The model's dtype is the one it was built with, and loading never changes it silently:
    /// a tensor of another dtype (Float64 weights into a Float32 model) is refused unless
    /// `converting` is true, which converts it to the dtype of the tensor it replaces.
    /// - Parameters:
    ///   - converting: whether tensors of another dtype are converted instead of refused.
    ///   - ignoring: paths in `tensors` that may be skipped without error.
    /// - Throws: `ModelError.missingTensor`, `.unexpectedTensor`, `.shapeMismatch`, or
    ///   `.dtypeMismatch` (without `converting`); `.invalidConfiguration` when a value does not
    ///   fit the narrower dtype.
    public func loading(_ tensors: NamedTensors, converting: Bool = false, ignoring: (String) -> Bool = { _ in false }) throws -> Self {
        let expected = self.tensors
        var replacements = NamedTensors()
        for (path, current) in expected {
            guard let new = tensors[path] else { throw ModelError.missingTensor(path: path) }
            guard new.shape == current.shape else {
                throw ModelError.shapeMismatch(path: path, expected: current.shape, actual: new.shape)
            }
            guard new.dtype == current.dtype || converting else {
                throw ModelError.dtypeMismatch(path: path, expected: current.dtype, actual: new.dtype)
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
