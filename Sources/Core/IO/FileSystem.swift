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

extension FileSystem {
    /// The prefix of the temporary files `writeAtomically` writes for `url` (the process id
    /// and a random number follow).
    public static func temporaryPrefix(of url: URL) -> String { ".\(url.lastPathComponent).tmp-" }

    /// Replaces the file at `url` with `data` atomically: a temporary file in the same directory
    /// is written and flushed to disk, then renamed over `url`, and the directory is flushed, so
    /// a crash or a full disk at any point leaves either the old file or the new one.
    /// `beforeRename` runs between the two (tests inject faults there).
    /// - Throws: `FileError` naming `url`; the previous file is then untouched.
    public static func writeAtomically(_ data: Data, to url: URL, beforeRename: (() throws -> Void)? = nil) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent("\(temporaryPrefix(of: url))\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        func fail(_ reason: String) -> FileError { FileError(path: url.path, reason: reason) }
        func systemError() -> String { String(cString: strerror(errno)) }
        if isDirectory(url) { throw fail("it is a directory") }
        let descriptor = open(temporary.path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw fail("cannot create \(temporary.path): \(systemError())") }
        var succeeded = false
        defer { if !succeeded { unlink(temporary.path) } }
        // The reason is taken from errno at the call that failed, before anything else runs.
        let failure: String? = data.withUnsafeBytes { raw -> String? in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue } else { return "writing \(temporary.path): \(systemError())" } }
                offset += n
            }
            return fsync(descriptor) == 0 ? nil : "flushing \(temporary.path) to disk: \(systemError())"
        }
        close(descriptor)
        if let failure { throw fail(failure) }
        do {
            try beforeRename?()
        } catch {
            throw fail("interrupted before the rename: \(error)")
        }
        guard rename(temporary.path, url.path) == 0 else { throw fail("rename: \(systemError())") }
        succeeded = true
        let directoryDescriptor = open(directory.path, O_RDONLY | O_DIRECTORY)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}
