import Foundation

/// A file-system operation that failed: the path and the operating system's reason (from
/// `errno`, so "Permission denied" is not reported as "No such file or directory").
public struct FileError: Error, Equatable, CustomStringConvertible {
    /// The file or directory concerned.
    public var path: String
    /// Why the operation failed, as a phrase ("is a directory, not a file").
    public var reason: String

    /// A failure at `path` for `reason`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// "path: reason".
    public var description: String { "\(path): \(reason)" }

    /// The failure described by the current `errno`.
    static func system(_ path: String, _ doing: String) -> FileError {
        FileError(path: path, reason: "cannot \(doing): \(String(cString: strerror(errno)))")
    }
}

/// Reading and creating files with errors that name the path and the system's reason.
public enum FileSystem {
    /// The default cap on a file read whole into memory: 4 GiB.
    public static let defaultReadLimit = 4 << 30

    /// The contents of the regular file at `url`.
    /// - Parameter limit: the largest size accepted, in bytes; a larger file is refused
    ///   before any of it is read.
    /// - Throws: `FileError` for a missing, unreadable or oversized file or a directory.
    public static func read(_ url: URL, limit: Int = defaultReadLimit) throws -> Data {
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError.system(path, "open it") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileError.system(path, "inspect it") }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw FileError(path: path, reason: "is a directory, not a file") }
        let size = Int(info.st_size)
        if size > limit {
            throw FileError(path: path, reason: "is \(size) bytes, over the limit of \(limit) bytes")
        }
        var data = Data(count: Swift.max(size, 0))
        var filled = 0
        let failed: Bool = data.withUnsafeMutableBytes { raw in
            while filled < raw.count {
                let n = Foundation.read(descriptor, raw.baseAddress! + filled, raw.count - filled)
                if n < 0 { if errno == EINTR { continue } else { return true } }
                if n == 0 { break }
                filled += n
            }
            return false
        }
        if failed { throw FileError.system(path, "read it") }
        data.count = filled
        // Files whose size is not known in advance (pipes, /proc): read on until the end.
        if (info.st_mode & S_IFMT) != S_IFREG {
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue } else { throw FileError.system(path, "read it") } }
                if n == 0 { break }
                data.append(contentsOf: chunk[0..<n])
                if data.count > limit { throw FileError(path: path, reason: "holds more than the limit of \(limit) bytes") }
            }
        }
        return data
    }

    /// Creates `url` as a directory, with its missing parents; an existing directory is fine.
    /// - Throws: `FileError` naming the first path that is not a directory or cannot be made.
    public static func createDirectory(_ url: URL) throws {
        let path = url.standardizedFileURL.path
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) == 0 { continue }
            let code = errno
            var info = stat()
            if code == EEXIST || stat(prefix, &info) == 0 {
                guard stat(prefix, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw FileError(path: prefix, reason: "exists and is not a directory")
                }
                continue
            }
            errno = code
            throw FileError.system(prefix, "create the directory")
        }
    }

    /// Whether `url` names an existing directory.
    public static func isDirectory(_ url: URL) -> Bool {
        var info = stat()
        return stat(url.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
