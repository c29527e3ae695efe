/// A location inside a configuration: `model[3].units`, `optimizer.learning_rate`.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    /// The keys and indices from the top of the configuration down.
    public private(set) var components: [Component] = []

    /// One step of a path: an object key or an array index.
    public enum Component: Sendable, Equatable {
        /// An object member's key.
        case key(String)
        /// An array element's index.
        case index(Int)
    }

    /// The empty path: the top level of the configuration.
    public init() {}

    /// This path followed by the object key `key`.
    public func appending(_ key: String) -> JSONPath {
        var copy = self
        copy.components.append(.key(key))
        return copy
    }

    /// This path followed by the array index `index`.
    public func appending(_ index: Int) -> JSONPath {
        var copy = self
        copy.components.append(.index(index))
        return copy
    }

    /// The path as written in messages (`model[3].units`), or "(top level)" when empty.
    public var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text.isEmpty ? "(top level)" : text
    }
}

/// A configuration that cannot be used, with the JSON path of the problem.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    /// Where the problem is.
    public var path: String
    /// What is wrong, as a sentence.
    public var message: String
    /// The file, when the configuration came from one.
    public var file: String?

    /// An error at `path` with `message`, not yet attributed to a file.
    public init(_ path: JSONPath, _ message: String) {
        self.path = path.description
        self.message = message
    }

    /// An error at a path already written out, optionally attributed to `file`.
    public init(path: String, message: String, file: String? = nil) {
        self.path = path
        self.message = message
        self.file = file
    }

    /// The error as "file: path: message" (without the file when there is none).
    public var description: String {
        (file.map { "\($0): " } ?? "") + "\(path): \(message)"
    }

    /// The same error attributed to `file`.
    public func inFile(_ file: String) -> ConfigurationError {
        var copy = self
        copy.file = file
        return copy
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.lowercased())
    let y = Array(b.lowercased())
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    for i in 1...x.count {
        var current = [i] + [Int](repeating: 0, count: y.count)
        for j in 1...y.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[y.count]
}

/// The candidate closest to `name`, if reasonably close.
func nearest(to name: String, among candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(name, $0)) }.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    guard let (best, distance) = scored, distance <= max(2, best.count / 2) else { return nil }
    return best
}
