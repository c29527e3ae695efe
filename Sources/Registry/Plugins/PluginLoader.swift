import CSaddlePluginABI
import CSaddlePluginHost
import Foundation
import SaddleCore
import Synchronization

/// Errors loading and using plugins. Each names the file or component concerned.
public enum PluginError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case fileMissing(path: String)
    /// The file cannot be read (or copied into memory).
    case unreadable(path: String, reason: String)
    /// The dynamic loader refused the file.
    case notALibrary(path: String, reason: String)
    /// The library does not export Saddle's plugin entry point.
    case noEntryPoint(path: String)
    /// The plugin was built for a plugin ABI this Saddle does not speak.
    case abiMismatch(path: String, plugin: String, host: String)
    /// The file's SHA-256 differs from the pinned one.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// The plugin's entry point failed, or never declared the plugin.
    case initializationFailed(path: String, message: String)
    /// A descriptor is smaller than this ABI's struct requires.
    case structTooSmall(what: String, size: Int, required: Int)
    /// A kernel's signature is not one the host can call.
    case unsupportedSignature(component: String, slot: String, reason: String)
    /// A component descriptor is malformed.
    case invalidDescriptor(component: String, reason: String)
    /// A component has no kernel for the dtype asked for.
    case missingKernel(component: String, slot: String, dtype: DType)
    /// A kernel or shape function reported a failure.
    case kernelFailed(component: String, slot: String, message: String)
    /// Registering the plugin's components failed; the reason names the component.
    case registration(path: String, reason: String)

    /// The problem as a sentence naming the file or component.
    public var description: String {
        switch self {
        case .fileMissing(let path): return "plugin \(path) does not exist"
        case let .unreadable(path, reason): return "plugin \(path) cannot be read: \(reason)"
        case let .notALibrary(path, reason): return "plugin \(path) is not a loadable shared library: \(reason)"
        case .noEntryPoint(let path): return "plugin \(path) does not export \(SADDLE_PLUGIN_ENTRY_POINT); is it a Saddle plugin?"
        case let .abiMismatch(path, plugin, host):
            return "plugin \(path) was built for plugin ABI \(plugin), but this Saddle speaks ABI \(host); rebuild it against this version's saddle_plugin.h"
        case let .checksumMismatch(path, expected, actual):
            return "plugin \(path) has SHA-256 \(actual), not the pinned \(expected); refusing to load it"
        case let .initializationFailed(path, message): return "plugin \(path) failed to register its components: \(message)"
        case let .structTooSmall(what, size, required):
            return "\(what) declares struct_size \(size), smaller than the \(required) bytes plugin ABI \(SADDLE_PLUGIN_ABI_MAJOR).\(SADDLE_PLUGIN_ABI_MINOR) requires"
        case let .unsupportedSignature(component, slot, reason): return "\(component): the \(slot) kernel's signature is not supported: \(reason)"
        case let .invalidDescriptor(component, reason): return "\(component): \(reason)"
        case let .missingKernel(component, slot, dtype): return "\(component) has no \(dtype) \(slot) kernel"
        case let .kernelFailed(component, slot, message): return "\(component) \(slot) kernel failed: \(message)"
        case let .registration(path, reason): return "plugin \(path): \(reason)"
        }
    }
}

/// A plugin file loaded into the process: what it declared and the components it offers.
public struct LoadedPlugin: Sendable {
    /// The absolute path the plugin was first loaded from.
    public let path: String
    /// The SHA-256 of the loaded bytes, in lowercase hexadecimal.
    public let sha256: String
    /// The plugin's declared name (the namespace of its components).
    public let name: String
    /// The plugin's declared version ("unversioned" when it gave none).
    public let version: String
    /// The plugin's one-line description.
    public let summary: String
    /// The plugin ABI it was built for, as "major.minor".
    public let abiVersion: String
    /// The components it offers, not yet registered anywhere.
    public let entries: [ComponentEntry]
    /// Whether it declared itself thread-safe (`SADDLE_PLUGIN_THREAD_SAFE`): otherwise every
    /// call into it runs under one lock.
    public let isThreadSafe: Bool
    /// What each component declared, by name.
    let components: [String: PluginComponent]
}

/// A plugin's parallel_for body and its argument, handed to the compute threads.
private struct PluginWork: @unchecked Sendable {
    let body: @convention(c) (UnsafeMutableRawPointer?, Int64) -> Void
    let user: UnsafeMutableRawPointer?
}

/// What one plugin component declared, as the host validated it.
enum PluginComponent: @unchecked Sendable {
    case activation(ActivationKernels)
    case layer(LayerDescriptor)
    case optimizer(OptimizerKernel)
}

/// Loads plugin libraries. A file is hashed and loaded from the very bytes that were hashed
/// (through an in-memory file), so a pinned digest covers exactly what runs. Loaded libraries
/// stay loaded; loading the same bytes again returns the same plugin.
public enum PluginLoader {
    private static let loaded = Mutex<[String: LoadedPlugin]>([:])
    /// The largest plugin library read: 1 GiB.
    public static let maximumLibraryBytes = 1 << 30

    /// Loads (or returns the already loaded) plugin at `path`, checking `sha256` when given.
    /// Nothing is registered anywhere; see `Registry.loadPlugin(at:sha256:)`.
    /// - Throws: `PluginError` naming the file and the problem.
    public static func load(path given: String, sha256 expected: String? = nil) throws -> LoadedPlugin {
        // Paths are kept absolute, so a configuration recorded in a checkpoint names the same
        // file from any working directory.
        let path = URL(fileURLWithPath: given).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path) else { throw PluginError.fileMissing(path: path) }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try FileSystem.read(URL(fileURLWithPath: path), limit: maximumLibraryBytes))
        } catch let error as FileError {
            throw PluginError.unreadable(path: path, reason: error.reason)
        }
        let digest = SHA256.hex(bytes)
        if let expected, expected.lowercased() != digest {
            throw PluginError.checksumMismatch(path: path, expected: expected.lowercased(), actual: digest)
        }
        if let plugin = loaded.withLock({ $0[digest] }) { return plugin }
        let plugin = try open(bytes, path: path, digest: digest)
        return loaded.withLock { cache in
            if let existing = cache[digest] { return existing }
            cache[digest] = plugin
            return plugin
        }
    }

    private static func open(_ bytes: [UInt8], path: String, digest: String) throws -> LoadedPlugin {
        // A plugin may link OpenBLAS itself (the example dense layer does): load it the host's
        // way first (its kernel chosen, one thread), so the plugin shares that one copy.
        _ = try? BLAS.configuration()
        let fd = bytes.withUnsafeBytes { saddle_memory_file("saddle-plugin", $0.baseAddress, $0.count) }
        guard fd >= 0 else { throw PluginError.unreadable(path: path, reason: "cannot create an in-memory copy: \(String(cString: strerror(errno)))") }
        // The descriptor stays open for as long as the library is loaded (always): the dynamic
        // loader knows libraries by path, and a reused descriptor number would make a later
        // plugin's path equal to this one's.
        dlerror()
        guard let library = dlopen("/proc/self/fd/\(fd)", RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            close(fd)
            throw PluginError.notALibrary(path: path, reason: reason.replacingOccurrences(of: "/proc/self/fd/\(fd)", with: path))
        }
        guard let symbol = dlsym(library, SADDLE_PLUGIN_ENTRY_POINT) else {
            throw PluginError.noEntryPoint(path: path)
        }
        let initialize = unsafeBitCast(symbol, to: saddle_plugin_init_fn.self)
        let session = RegistrationSession(path: path, digest: digest)
        var host = saddle_host(
            struct_size: UInt32(MemoryLayout<saddle_host>.size), abi_major: UInt16(SADDLE_PLUGIN_ABI_MAJOR),
            abi_minor: UInt16(SADDLE_PLUGIN_ABI_MINOR), context: Unmanaged.passUnretained(session).toOpaque(),
            declare: { context, info in RegistrationSession.from(context).declare(info) },
            register_activation: { context, activation in RegistrationSession.from(context).registerActivation(activation) },
            register_layer: { context, layer in RegistrationSession.from(context).registerLayer(layer) },
            register_optimizer: { context, optimizer in RegistrationSession.from(context).registerOptimizer(optimizer) },
            report: { context, message in
                guard let message else { return }
                RegistrationSession.from(context).reported = String(cString: message)
            },
            parallel_for: { count, cost, body, user in
                guard let body, count > 0 else { return }
                let work = PluginWork(body: body, user: user)
                ComputeThreads.forEachItem(Int(count), elements: Int(clamping: cost)) { item in work.body(work.user, Int64(item)) }
            })
        let status = withExtendedLifetime(session) { initialize(&host) }
        if let error = session.error {
            // The library stays loaded (its code may be referenced by nothing now, but
            // unloading code that just ran is not worth the risk); nothing was registered.
            switch error {
            case .structTooSmall, .unsupportedSignature, .invalidDescriptor, .missingKernel, .kernelFailed:
                // Descriptor errors name the component; the file and plugin are added here.
                let plugin = session.info.map { " (plugin \($0.name) \($0.version))" } ?? ""
                throw PluginError.registration(path: path, reason: "\(error)\(plugin)")
            default:
                throw error
            }
        }
        guard status == SADDLE_OK else {
            throw PluginError.initializationFailed(path: path, message: session.reported ?? "\(SADDLE_PLUGIN_ENTRY_POINT) returned \(status)")
        }
        guard let info = session.info else {
            throw PluginError.initializationFailed(path: path, message: "the plugin never called declare()")
        }
        return LoadedPlugin(
            path: path, sha256: digest, name: info.name, version: info.version, summary: info.summary,
            abiVersion: info.abi, entries: session.entries, isThreadSafe: info.threadSafe, components: session.descriptors)
    }
}

extension Registry {
    /// Loads the plugin at `path` (checking `sha256` when given) and registers its components
    /// atomically: on any error the registry is left exactly as it was.
    /// - Throws: `PluginError` naming the file and the problem.
    @discardableResult
    public mutating func loadPlugin(at path: String, sha256: String? = nil) throws -> LoadedPlugin {
        let plugin = try PluginLoader.load(path: path, sha256: sha256)
        do {
            try register(all: plugin.entries)
        } catch let error as RegistryError {
            throw PluginError.registration(path: path, reason: "\(error)")
        }
        return plugin
    }

    /// This registry with the given plugins loaded.
    /// - Throws: `ConfigurationError` at `plugins[i]` naming the problem.
    public func loading(_ plugins: [PluginReference]) throws -> Registry {
        try loadingPinned(plugins).registry
    }

    /// This registry with the given plugins loaded, and the references as loaded: absolute
    /// paths and the SHA-256 of the very bytes loaded, so that a configuration written with
    /// them (into a checkpoint) refuses a different library later. Pins are enforced unless
    /// `allowsChangedPlugins` is set.
    /// - Throws: `ConfigurationError` at `plugins[i]` naming the problem.
    public func loadingPinned(_ plugins: [PluginReference]) throws -> (registry: Registry, plugins: [PluginReference]) {
        var registry = self
        var pinned: [PluginReference] = []
        for (index, plugin) in plugins.enumerated() {
            do {
                let loaded = try registry.loadPlugin(at: plugin.path, sha256: allowsChangedPlugins ? nil : plugin.sha256)
                // The path as named (made absolute): identical bytes elsewhere share one load.
                let path = URL(fileURLWithPath: plugin.path).standardizedFileURL.path
                pinned.append(PluginReference(path: path, sha256: loaded.sha256))
            } catch let error as PluginError {
                throw ConfigurationError(JSONPath().appending("plugins").appending(index), "\(error)")
            }
        }
        return (registry, pinned)
    }
}

extension LoadedPlugin {
    /// How many times each kernel slot of layer `name` has been called in this process, by slot
    /// name (`forward`, `jvp`, ...); for tests that count calls.
    package func layerKernelCalls(_ name: String) -> [String: Int] {
        guard case .layer(let d)? = components[name] else { return [:] }
        var counts: [String: Int] = [:]
        for kernel in [d.forward, d.backward, d.jvp, d.backwardJVP].compactMap({ $0 }) { counts[kernel.slot] = kernel.calls.load(ordering: .relaxed) }
        return counts
    }

    /// What component `name` declared beyond its parameters, one line per capability, read from
    /// its descriptor without running a kernel: kernel signatures and element types, input
    /// shapes, modes, buffers, random streams, second-order rules, batched tangents, growth.
    public func capabilities(of name: String) -> [String] {
        func kernel(_ slot: String, _ kernel: PluginKernel?) -> String {
            guard let kernel else { return "\(slot): none" }
            return "\(slot): \"\(String(kernel.roles))\" \(kernel.dtypesText)"
        }
        switch components[name] {
        case .activation(let k):
            return [
                [kernel("forward", k.forward), kernel("derivative", k.derivative), kernel("second_derivative", k.secondDerivative)].joined(separator: "; "),
                k.secondDerivative == nil ? "second order: none (Hessians through it are refused)" : "second order: exact; full Hessians forward-over-reverse, one f'' call per pass",
            ]
        case .layer(let d):
            let usesMode = [d.forward, d.backward, d.jvp, d.backwardJVP].contains { $0?.takes("m") == true }
            let role: String
            switch d.role {
            case SADDLE_TRANSFORM_UNITS:
                role = "growth: output units (hyperparameter \(d.unitsParameter ?? "?")); weight unit axes \(d.weightUnitAxes), input axes \(d.weightInputAxes)\(d.raw.identity != nil ? "; identity for Net2Deeper" : "")"
            case SADDLE_TRANSFORM_FEATURE_WISE:
                role = "growth: feature-wise; weight feature axes \(d.weightUnitAxes)\(d.bufferNames.isEmpty ? "" : ", buffer feature axes \(d.bufferUnitAxes)")"
            default:
                role = "growth: none (transforms refuse to widen or deepen it)"
            }
            return [
                [kernel("forward", d.forward), kernel("backward", d.backward), kernel("jvp", d.jvp), kernel("backward_jvp", d.backwardJVP)].joined(separator: "; "),
                d.isShaped ? "inputs: any rank up to \(SADDLE_MAX_RANK) per example\(d.exampleInput.map { ", example \($0)" } ?? "")" : "inputs: vectors [features]",
                "weights: \(d.weightNames.isEmpty ? "none" : d.weightNames.joined(separator: ", "))",
                "buffers: \(d.bufferNames.isEmpty ? "none" : zip(d.bufferNames, d.bufferInitialValues).map { "\($0) (starts at \($1))" }.joined(separator: ", "))\(d.forward.takes("U") ? ", updated in training" : "")",
                "mode: \(usesMode ? "reads training or inference" : "ignores it")",
                "random streams: \(d.usesRandom ? "yes (per example, replayed in backward)" : "no")",
                d.jvp == nil ? "second order: none (Hessians through it are refused)"
                    : d.batchedTangents ? "second order: exact, batched tangents (one call per layer and pass, forward-over-reverse)"
                    : "second order: exact, one call per direction (reverse-over-reverse)",
                role,
            ]
        case .optimizer(let k):
            return [kernel("update", k.update), "state: \(k.stateNames.isEmpty ? "none" : k.stateNames.joined(separator: ", ")) and the step count",
                    "parameter shape: \(k.update.takes("P") ? "read" : "not read")"]
        case nil:
            return []
        }
    }
}
