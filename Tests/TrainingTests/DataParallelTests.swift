import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// Data-parallel training and curvature on MPI, run with `mpirun` on loopback (2 and 3 ranks):
/// equivalence with one process, bit-identical repeats, BatchNorm across ranks, resume with
/// another rank count, and faults that must stop the whole job.
@Suite("Data-parallel training on MPI", .serialized)
struct DataParallelTests {
    /// A Float64 run on the digits with dropout (its masks are keyed by the global example
    /// index), written to `directory/name.json`, checkpoints in `directory/name`.
    static func runFile(
        in directory: URL, name: String, model: String = #"[{"layer": "dense", "units": 32}, {"layer": "relu"}, {"layer": "dropout", "rate": 0.2}, {"layer": "dense", "units": 10}]"#,
        epochs: Int = 3, batchSize: Int = 32, learningRate: Double = 0.05, clipping: Bool = true, optimizer: String? = nil,
        extraTrain: String = ""
    ) throws -> URL {
        let url = directory.appendingPathComponent("\(name).json")
        let text = """
            {"format_version": 1, "name": "\(name)", "seed": 5, "dtype": "float64",
             "data": {"name": "digits", "validation": 0.2, "split_seed": 0, "standardize": "per_feature"},
             "model": \(model),
             "optimizer": \(optimizer ?? "{\"name\": \"sgd\", \"learning_rate\": \(learningRate), \"momentum\": 0.9\(clipping ? ", \"max_gradient_norm\": 5" : "")}"),
             "train": {"epochs": \(epochs), "batch_size": \(batchSize), "progress": "silent", \(extraTrain)"checkpoint_dir": "\(directory.appendingPathComponent(name).path)"}}
            """
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func tensors(_ directory: URL, _ name: String) throws -> NamedTensors {
        let checkpoint = try Checkpoint.read(from: directory.appendingPathComponent("\(name)/last.safetensors"))
        return checkpoint.tensors.merging(checkpoint.optimizerState)
    }

    /// max |a - b| / max(1, max |a|) over every tensor, NaN-propagating.
    static func relativeDifference(_ a: NamedTensors, _ b: NamedTensors) -> Double {
        var worst = 0.0, scale = 1.0
        for (path, x) in a {
            guard let y = b[path], y.shape == x.shape else { return .infinity }
            for (u, v) in zip(x.doubles, y.doubles) {
                let d = Swift.abs(u - v)
                if d.isNaN { return .nan }
                worst = Swift.max(worst, d)
                scale = Swift.max(scale, Swift.abs(u))
            }
        }
        return worst / scale
    }

    @Test func theSaddleBinaryDoesNotLinkMPI() throws {
        let dir = try TemporaryDirectory("ldd")
        defer { dir.remove() }
        let out = dir.file("ldd")
        let status = try runProgram("/bin/sh", ["-c", "ldd '\(Executables.url("saddle").path)' > '\(out.path)' 2>&1"])
        let text = try String(contentsOf: out, encoding: .utf8)
        #expect(status == 0 && text.contains("libc.so"), "\(text)")
        #expect(!text.contains("libmpi"), "\(text)")
        // The shim is what links it (built by make mpi).
        #expect(FileManager.default.fileExists(atPath: MPIRun.shim.path), "\(MPIRun.shim.path) is missing: run make mpi")
    }

    @Test func twoAndThreeRanksMatchOneProcessAndRepeatBitForBit() throws {
        let dir = try TemporaryDirectory("data-parallel")
        defer { dir.remove() }
        for name in ["single", "two_a", "two_b", "three"] { _ = try Self.runFile(in: dir.url, name: name) }
        let single = try SaddleCommandLine.run(["train", dir.file("single.json").path])
        #expect(single.status == 0, "\(single)")
        for (name, ranks) in [("two_a", 2), ("two_b", 2), ("three", 3)] {
            let result = try MPIRun.run(ranks: ranks, ["train", dir.file("\(name).json").path], timeout: 300)
            #expect(result.status == 0, "\(name): \(result)")
            #expect(result.standardOutput.contains("data-parallel over \(ranks) processes"), "\(result)")
            // Rank 0 alone prints.
            #expect(result.standardOutput.components(separatedBy: "final held-out accuracy").count == 2, "\(result)")
        }
        let reference = try Self.tensors(dir.url, "single")
        let twoA = try Self.tensors(dir.url, "two_a"), twoB = try Self.tensors(dir.url, "two_b")
        // Bit-identical from run to run at a fixed number of ranks.
        #expect(twoA.paths.sorted() == twoB.paths.sorted())
        for (path, tensor) in twoA { #expect(twoB[path]?.doubles == tensor.doubles, "\(path) differs between two 2-rank runs") }
        // Against one process: the BLAS sums in another order once the batch is split.
        for (name, tensors) in [("two_a", twoA), ("three", try Self.tensors(dir.url, "three"))] {
            let difference = Self.relativeDifference(reference, tensors)
            print("data parallel \(name) after 135 steps: max |theta - theta_single| / max(1, max |theta_single|) = \(difference)")
            #expect(!difference.isNaN && difference < 1e-9, "\(name): \(difference)")
            // 135 steps actually moved the parameters.
            #expect(Self.relativeDifference(reference, try Self.initial(dir.url)) > 1e-2)
        }
    }

    /// The parameters the run starts from (epoch 0), built from the seed.
    static func initial(_ directory: URL) throws -> NamedTensors {
        let run = try RunConfiguration.read(directory.appendingPathComponent("single.json"), registry: .builtin)
        return try run.buildModel().tensors
    }

    /// Two "hosts": network namespaces joined by a veth pair, Open MPI over TCP between them
    /// (scripts/mpi/two_hosts.sh). Needs root; it fails rather than skips when it cannot run.
    @Test func twoHostsOverTCPBetweenNetworkNamespaces() throws {
        let dir = try TemporaryDirectory("data-parallel-hosts")
        defer { dir.remove() }
        _ = try Self.runFile(in: dir.url, name: "single", epochs: 1)
        let run = try Self.runFile(in: dir.url, name: "hosts", epochs: 1)
        #expect(try SaddleCommandLine.run(["train", dir.file("single.json").path]).status == 0)
        let script = Executables.examples.deletingLastPathComponent().appendingPathComponent("scripts/mpi/two_hosts.sh")
        let result = try SaddleCommandLine.run([Executables.url("saddle").path, "train", run.path], executable: script)
        #expect(result.status == 0 && !result.signaled, "two namespaces over TCP (needs root and ip netns): \(result)")
        #expect(result.standardOutput.contains("data-parallel over 2 processes"), "\(result)")
        let difference = Self.relativeDifference(try Self.tensors(dir.url, "single"), try Self.tensors(dir.url, "hosts"))
        print("data parallel over TCP between two namespaces, against one process: \(difference)")
        #expect(!difference.isNaN && difference < 1e-9)
    }

    @Test(arguments: [#"{"name": "saddle_free_newton"}"#, #"{"name": "newton_cg"}"#])
    func newtonMethodsRunDataParallel(_ optimizer: String) throws {
        let dir = try TemporaryDirectory("data-parallel-newton")
        defer { dir.remove() }
        let model = #"[{"layer": "dense", "units": 4}, {"layer": "tanh"}, {"layer": "dense", "units": 10}]"#
        for name in ["one", "two"] { _ = try Self.runFile(in: dir.url, name: name, model: model, epochs: 4, batchSize: 500, optimizer: optimizer) }
        #expect(try SaddleCommandLine.run(["train", dir.file("one.json").path]).status == 0)
        let result = try MPIRun.run(ranks: 2, ["train", dir.file("two.json").path], timeout: 300)
        #expect(result.status == 0, "\(result)")
        let difference = Self.relativeDifference(try Self.tensors(dir.url, "one"), try Self.tensors(dir.url, "two"))
        print("data parallel \(optimizer), 2 ranks against one process: \(difference)")
        #expect(!difference.isNaN && difference < 1e-8, "\(difference)")
    }

    /// Synchronized BatchNorm: the statistics of the whole global batch on every rank, so 2 and
    /// 3 ranks follow one process (running statistics included), not only without BatchNorm.
    @Test func synchronizedBatchNormMatchesOneProcess() throws {
        let dir = try TemporaryDirectory("data-parallel-syncbn")
        defer { dir.remove() }
        let model = #"[{"layer": "dense", "units": 32}, {"layer": "batchnorm"}, {"layer": "relu"}, {"layer": "dense", "units": 10}]"#
        let synchronized = #""batchnorm_statistics": "synchronized", "#
        for name in ["single", "two", "three"] {
            _ = try Self.runFile(in: dir.url, name: name, model: model, epochs: 2, extraTrain: synchronized)
        }
        _ = try Self.runFile(in: dir.url, name: "local", model: model, epochs: 2)
        #expect(try SaddleCommandLine.run(["train", dir.file("single.json").path]).status == 0)
        for (name, ranks) in [("two", 2), ("three", 3), ("local", 2)] {
            let result = try MPIRun.run(ranks: ranks, ["train", dir.file("\(name).json").path], timeout: 300)
            #expect(result.status == 0, "\(name): \(result)")
        }
        let reference = try Self.tensors(dir.url, "single")
        for name in ["two", "three"] {
            let difference = Self.relativeDifference(reference, try Self.tensors(dir.url, name))
            print("data parallel synchronized BatchNorm, \(name) ranks after 90 steps, against one process: \(difference)")
            #expect(!difference.isNaN && difference < 1e-9, "\(name): \(difference)")
        }
        // Local statistics differ from one process's: the option is what makes them agree.
        #expect(Self.relativeDifference(reference, try Self.tensors(dir.url, "local")) > 1e-6)
    }

    @Test func batchNormAveragesStatisticsAcrossRanksAndRefusesShardsOfOne() throws {
        let dir = try TemporaryDirectory("data-parallel-bn")
        defer { dir.remove() }
        let model = #"[{"layer": "dense", "units": 32}, {"layer": "batchnorm"}, {"layer": "relu"}, {"layer": "dense", "units": 10}]"#
        let run = try Self.runFile(in: dir.url, name: "bn", model: model, epochs: 1)
        let result = try MPIRun.run(ranks: 3, ["train", run.path], timeout: 300)
        #expect(result.status == 0, "\(result)")
        // The checkpoint holds the averaged statistics every rank ended with: evaluating it
        // alone gives the accuracy the job reported.
        let reported = result.standardOutput.components(separatedBy: "final held-out accuracy ").last?.prefix(while: { $0 != "," })
        let evaluated = try SaddleCommandLine.run(["eval", dir.file("bn/last.safetensors").path])
        #expect(evaluated.status == 0, "\(evaluated)")
        #expect(reported.map { evaluated.standardOutput.contains("held-out accuracy \($0)") } == true, "\(result)\n\(evaluated)")

        let tiny = try Self.runFile(in: dir.url, name: "bn_tiny", model: model, epochs: 1, batchSize: 4)
        let refused = try MPIRun.run(ranks: 3, ["train", tiny.path], timeout: 120)
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("BatchNorm needs at least 2 examples per share"), "\(refused)")
        #expect(refused.standardError.contains("rank ") && refused.standardError.contains("train.batch_size"), "\(refused)")
        // validate knows it, given the number of processes.
        let validated = try SaddleCommandLine.run(["validate", tiny.path, "--ranks", "3"])
        #expect(validated.status == 1 && validated.standardError.contains("BatchNorm needs at least 2 examples per share"), "\(validated)")
        #expect(try SaddleCommandLine.run(["validate", tiny.path]).status == 0)
    }

    @Test func resumesWithAnotherNumberOfRanks() throws {
        let dir = try TemporaryDirectory("data-parallel-resume")
        defer { dir.remove() }
        _ = try Self.runFile(in: dir.url, name: "single", epochs: 3)
        let first = try Self.runFile(in: dir.url, name: "parts", epochs: 2)
        #expect(try SaddleCommandLine.run(["train", dir.file("single.json").path]).status == 0)
        let two = try MPIRun.run(ranks: 2, ["train", first.path], timeout: 300)
        #expect(two.status == 0, "\(two)")
        let checkpoint = dir.file("parts/last.safetensors").path
        let resumed = try MPIRun.run(ranks: 3, ["train", try Self.runFile(in: dir.url, name: "parts", epochs: 3).path, "--resume", checkpoint], timeout: 300)
        #expect(resumed.status == 0, "\(resumed)")
        #expect(resumed.standardOutput.contains("resuming"), "\(resumed)")
        let difference = Self.relativeDifference(try Self.tensors(dir.url, "single"), try Self.tensors(dir.url, "parts"))
        print("data parallel 2 ranks then 3 ranks after resume, against one process: \(difference)")
        #expect(!difference.isNaN && difference < 1e-9)
    }

    @Test func aDivergingLossStopsEveryRankTogether() throws {
        let dir = try TemporaryDirectory("data-parallel-nan")
        defer { dir.remove() }
        let run = try Self.runFile(in: dir.url, name: "nan", epochs: 2, learningRate: 1e5, clipping: false)
        let start = Date()
        let result = try MPIRun.run(ranks: 2, ["train", run.path], timeout: 120)
        #expect(result.status != 0 && result.status != -1, "\(result)")
        // The loss is the global batch's, so both ranks see it diverge at the same step and
        // stop together (no rank is left waiting in a collective).
        let lines = result.standardError.split(separator: "\n").filter { $0.contains("stopped the job: the training loss became") }
        let steps = Set(lines.compactMap { $0.components(separatedBy: ", step ").last?.prefix(while: \.isNumber) })
        #expect(lines.count >= 1 && steps.count == 1, "\(result)")
        #expect(Date().timeIntervalSince(start) < 60)
    }

    @Test func aRankThatDiesStopsTheJobAndTheCheckpointResumes() throws {
        let dir = try TemporaryDirectory("data-parallel-kill")
        defer { dir.remove() }
        let run = try Self.runFile(in: dir.url, name: "killed", epochs: 400)
        let checkpoint = dir.file("killed/last.safetensors")
        var killedAt = Date()
        let result = try MPIRun.run(ranks: 2, ["train", run.path], timeout: 300) { _ in
            let deadline = Date().addingTimeInterval(120)
            while !FileManager.default.fileExists(atPath: checkpoint.path) && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            let ranks = MPIRun.processes(containing: run.path)
            #expect(ranks.count == 2, "rank processes: \(ranks)")
            if let victim = ranks.last { kill(victim, SIGKILL) }
            killedAt = Date()
        }
        let stoppedAfter = Date().timeIntervalSince(killedAt)
        print("data parallel: the job stopped \(stoppedAfter) s after a rank was killed")
        #expect(result.status != 0 && result.status != -1, "\(result)")
        #expect(stoppedAfter < 30)
        #expect(result.standardError.contains("rank"), "\(result)")
        // The last checkpoint is intact and resumable, by one process, for one more epoch.
        let saved = try Checkpoint.read(from: checkpoint)
        let more = try Self.runFile(in: dir.url, name: "killed", epochs: saved.epoch + 1)
        let resumed = try SaddleCommandLine.run(["train", more.path, "--resume", checkpoint.path])
        #expect(resumed.status == 0 && resumed.standardOutput.contains("resuming"), "\(resumed)")
        #expect(try Checkpoint.read(from: checkpoint).epoch == saved.epoch + 1)
        let restart = try SaddleCommandLine.run(["eval", checkpoint.path])
        #expect(restart.status == 0, "\(restart)")
    }

    @Test func aRankThatHangsIsStoppedByTheWatchdog() throws {
        let dir = try TemporaryDirectory("data-parallel-hang")
        defer { dir.remove() }
        let run = try Self.runFile(in: dir.url, name: "hung", epochs: 400)
        var stoppedAt = Date()
        let result = try MPIRun.run(ranks: 2, ["train", run.path], environment: ["SADDLE_COLLECTIVE_TIMEOUT": "3"], timeout: 120) { _ in
            let deadline = Date().addingTimeInterval(120)
            var ranks: [Int32] = []
            while ranks.count < 2 && Date() < deadline {
                ranks = MPIRun.processes(containing: run.path)
                Thread.sleep(forTimeInterval: 0.2)
            }
            Thread.sleep(forTimeInterval: 3)  // into training
            if let victim = ranks.last { kill(victim, SIGSTOP) }
            stoppedAt = Date()
        }
        let after = Date().timeIntervalSince(stoppedAt)
        print("data parallel: the watchdog stopped the job \(after) s after a rank hung")
        #expect(result.status != 0 && result.status != -1, "\(result)")
        #expect(result.standardError.contains("waited more than 3.0 s"), "\(result)")
        #expect(after < 30)
    }

    @Test func analyzeOverShardsPrintsWhatOneProcessPrints() throws {
        let dir = try TemporaryDirectory("data-parallel-analyze")
        defer { dir.remove() }
        let model = #"[{"layer": "dense", "units": 6}, {"layer": "tanh"}, {"layer": "dense", "units": 10}]"#
        let run = try Self.runFile(in: dir.url, name: "small", model: model, epochs: 2)
        #expect(try SaddleCommandLine.run(["train", run.path]).status == 0)
        let checkpoint = dir.file("small/last.safetensors").path
        let single = try SaddleCommandLine.run(["analyze", checkpoint, "--examples", "500", "--json"])
        #expect(single.status == 0, "\(single)")
        let sharded = try MPIRun.run(ranks: 2, ["analyze", checkpoint, "--examples", "500", "--json"], timeout: 300)
        #expect(sharded.status == 0, "\(sharded)")
        let a = try JSONParser.parse(Array(single.standardOutput.utf8)), b = try JSONParser.parse(Array(sharded.standardOutput.utf8))
        for key in ["loss", "gradient_norm"] {
            guard case .number(let x)? = a[key], case .number(let y)? = b[key] else {
                Issue.record("no \(key) in \(single.standardOutput) / \(sharded.standardOutput)")
                continue
            }
            #expect(Swift.abs(x - y) <= 1e-10 * Swift.max(1, Swift.abs(x)), "\(key): \(x) vs \(y)")
        }
        for key in ["smallest_eigenvalues", "largest_eigenvalues"] {
            guard case .array(let xs)? = a[key], case .array(let ys)? = b[key], xs.count == ys.count, !xs.isEmpty else {
                Issue.record("\(key) missing or of other lengths")
                continue
            }
            for (x, y) in zip(xs, ys) {
                guard case .number(let u) = x, case .number(let v) = y else { continue }
                #expect(Swift.abs(u - v) <= 1e-9 * Swift.max(1, Swift.abs(u)), "\(key): \(u) vs \(v)")
            }
        }
        print("analyze, one process:\n\(single.standardOutput)\nanalyze, 2 ranks:\n\(sharded.standardOutput)")
    }
}
