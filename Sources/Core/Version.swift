/// Saddle's release version (semantic versioning). CHANGELOG.md records what each version
/// changed; `saddle --version` prints it and exports carry it as their producer version.
public enum SaddleVersion {
    /// The version of this source tree.
    public static let current = "0.4.0"
}
