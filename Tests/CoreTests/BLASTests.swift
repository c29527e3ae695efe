import Foundation
import SaddleCore
import Testing

/// The kernel choice happens when OpenBLAS loads, once per process, so it is tested in child
/// processes: the `saddle-bench` executable built beside the tests reports what it got.
@Suite("OpenBLAS loading and kernel choice")
struct BLASTests {
    static let bench = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("saddle-bench")

    func run(environment changes: [String: String?], arguments: [String] = ["--only", "none"]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = Self.bench
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in changes { environment[key] = value }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let error = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output, error)
    }

    func field(_ name: String, in json: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return "\(object?[name] ?? "missing")"
    }

    @Test func choosesAFastKernelWithoutBeingTold() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.bench.path), "build saddle-bench with the tests")
        let result = try run(environment: ["OPENBLAS_CORETYPE": nil])
        #expect(result.status == 0, "\(result.error)")
        let core = try field("blas_core", in: result.output)
        #expect(core != "Prescott" && core != "missing")
        #expect(core == (try field("blas_core_requested", in: result.output)))
        #expect(try field("blas_core_from_environment", in: result.output) == "no")
    }

    @Test func theEnvironmentOverridesTheChoice() throws {
        let result = try run(environment: ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(result.status == 0, "\(result.error)")
        #expect(try field("blas_core", in: result.output) == "Haswell")
        #expect(try field("blas_core_from_environment", in: result.output) == "yes")
    }

    @Test func threadCountFollowsTheEnvironmentAndOpenBLASStaysOnOneThread() throws {
        let result = try run(environment: ["SADDLE_NUM_THREADS": "3"])
        #expect(try field("threads", in: result.output) == "3")
        #expect(try field("blas_threads", in: result.output) == "1")
    }

    @Test func aMissingLibraryNamesTheDebianPackage() throws {
        let result = try run(environment: ["SADDLE_BLAS_LIBRARY": "/nonexistent/libopenblas.so.0"])
        #expect(result.status != 0)
        #expect(result.error.contains("libopenblas0"))
        #expect(result.error.contains("/nonexistent/libopenblas.so.0"))
    }

    @Test func configurationReportsTheLibraryInUse() throws {
        let configuration = try BLAS.configuration()
        #expect(configuration.library.contains("openblas"))
        #expect(configuration.buildConfiguration.contains("OpenBLAS"))
        #expect(configuration.threadCount >= 1)
    }
}

@Suite("LAPACK")
struct LAPACKTests {
    @Test func symmetricEigenRecoversAKnownSpectrum() throws {
        var g = RandomGenerator(seed: 9)
        let q = try LAPACK.orthonormalColumns(of: Tensor.randomNormal([5, 5], dtype: .float64, using: &g))
        let lambda: [Double] = [-3, -0.5, 0, 1, 7]
        var entries = [Double](repeating: 0, count: 25)
        for i in 0..<5 { entries[i * 5 + i] = lambda[i] }
        let diagonal = try Tensor(shape: [5, 5], scalars: entries)
        let a = try matmul(matmul(q, diagonal), q, transposeB: true)
        let (values, vectors) = try LAPACK.symmetricEigen(a)
        for (got, want) in zip(values.doubles, lambda) { #expect(Swift.abs(got - want) < 1e-12) }
        // A V = V diag(lambda).
        let v = try #require(vectors)
        let residual = try (matmul(a, v) - matmul(v, diagonal)).squared().sum().item()
        #expect(residual < 1e-20)
        #expect(throws: TensorError.self) { try LAPACK.symmetricEigen(Tensor.zeros([2, 3], dtype: .float64)) }
    }

    @Test func solveAndSingularity() throws {
        let a = try Tensor(shape: [2, 2], scalars: [3.0, 1, 1, 2])
        let x = try LAPACK.solve(a, Tensor([9.0, 8]))
        #expect(Swift.abs(x.doubles[0] - 2) < 1e-14 && Swift.abs(x.doubles[1] - 3) < 1e-14)
        let singular = try Tensor(shape: [2, 2], scalars: [1.0, 2, 2, 4])
        #expect(throws: TensorError.self) { try LAPACK.solve(singular, Tensor([1.0, 1])) }
    }

    @Test func tridiagonalEigen() throws {
        let (values, _) = try LAPACK.tridiagonalEigen(diagonal: [2, 2, 2], offDiagonal: [-1, -1])
        let expected = [2 - 2.0.squareRoot(), 2, 2 + 2.0.squareRoot()]
        for (a, b) in zip(values, expected) { #expect(Swift.abs(a - b) < 1e-14) }
    }
}
