import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// An optimizer that damages the parameters at one step: a stand-in for a plugin kernel that
/// misbehaves on an epoch's last step. `scale` multiplies the first parameter (1e38 leaves it
/// finite but its loss NaN); nil writes a NaN into it.
struct PoisoningSGD: GradientOptimizer {
    var inner: SGD
    var poisonAtStep: Int
    var scale: Double?
    var steps = 0
    var learningRate: Double {
        get { inner.learningRate }
        set { inner.learningRate = newValue }
    }
    var maxGradientNorm: Double? {
        get { nil }
        set {}
    }
    var state: NamedTensors {
        get { inner.state }
        set { inner.state = newValue }
    }

    mutating func update(_ parameters: inout NamedTensors, gradient: NamedTensors) throws {
        try inner.update(&parameters, gradient: gradient)
        steps += 1
        guard steps == poisonAtStep else { return }
        let factor = scale
        parameters.modifyTensor(at: 0) { tensor in
            if let factor {
                tensor = (tensor * factor).detached
            } else {
                _ = try? tensor.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = .nan }
            }
        }
    }
}

func digitsSplits() throws -> (Dataset, Dataset) {
    let (train, validation) = try Digits.load().split(validationFraction: 0.2, seed: 0)
    let scaler = try Standardization(fittedTo: train)
    return (try scaler.apply(to: train), try scaler.apply(to: validation))
}

func smallMLP(seed: UInt64) throws -> Sequential {
    var generator = RandomGenerator(seed: seed)
    return try Sequential {
        try Dense(inputSize: 64, units: 16, using: &generator)
        ReLU()
        try Dense(inputSize: 16, units: 10, using: &generator)
    }
}

@Suite("What used to be silently wrong")
struct SilentlyWrongTests {
    @Test("a checkpoint called good was evaluated finite: damaged weights after an epoch's last step are not saved", arguments: [
        ("NaN weights", nil, "0.weight"), ("finite weights with a NaN loss", 1e38, "held-out loss"),
    ] as [(String, Double?, String)])
    func damageOnTheLastStepOfAnEpoch(_ label: String, _ scale: Double?, _ mention: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (train, validation) = try digitsSplits()
        var options = try TrainingOptions(epochs: 3, batchSize: 64, seed: 1)
        options.progress = .silent
        options.checkpointDirectory = dir.url
        options.metricsFile = dir.file("metrics.jsonl")
        let stepsPerEpoch = (train.count + 63) / 64
        let optimizer = PoisoningSGD(inner: try SGD(learningRate: 0.05), poisonAtStep: 2 * stepsPerEpoch, scale: scale)
        var trainer = Trainer(model: try smallMLP(seed: 1), loss: SoftmaxCrossEntropy(), optimizer: optimizer, options: options)
        var caught: TrainingError?
        do {
            try trainer.fit(training: train, validation: validation)
        } catch let error as TrainingError {
            caught = error
        }
        guard case let .nonFiniteState(what, epoch, last)? = caught else {
            Issue.record("\(label): expected a non-finite state error, got \(String(describing: caught))")
            return
        }
        #expect(epoch == 2 && what.contains(mention), "\(what)")
        #expect(last == dir.file("last.safetensors").path)
        let kept = try Checkpoint.read(from: dir.file("last.safetensors"))
        #expect(kept.epoch == 1)
        #expect(kept.tensors.tensors.allSatisfy { $0.firstNonFiniteIndex == nil })
        // Its held-out loss is finite, as "good" promises.
        let model = try smallMLP(seed: 1).loading(kept.tensors)
        #expect(try Evaluation.measure(model, loss: SoftmaxCrossEntropy(), on: validation).loss.isFinite)
        // The metrics file agrees with the checkpoint: one line, epoch 1.
        let lines = try String(contentsOf: dir.file("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1 && lines.first?.hasPrefix(#"{"epoch":1,"#) == true, "\(lines)")
    }

    @Test("after a kill, resume removes abandoned temporaries and the metrics file agrees with the checkpoint")
    func killedRunsLeaveNoTraces() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let two = try writeRun(in: dir.url, name: "two", train: #""epochs": 2, "batch_size": 64"#)
        expectSuccess(try saddle(["train", two.path]))
        let checkpointDir = dir.url.appendingPathComponent("two")
        // A kill between the metrics line and the rename, as the old order left it: a third
        // line, and a temporary checkpoint of a process that no longer runs.
        let metrics = checkpointDir.appendingPathComponent("metrics.jsonl")
        var text = try String(contentsOf: metrics, encoding: .utf8)
        text += text.split(separator: "\n").last.map { String($0).replacingOccurrences(of: #""epoch":2"#, with: #""epoch":3"#) + "\n" } ?? ""
        try text.write(to: metrics, atomically: true, encoding: .utf8)
        let abandoned = checkpointDir.appendingPathComponent(".last.safetensors.tmp-999999999-1")
        try Data(count: 4096).write(to: abandoned)
        // A temporary of a process that still runs (this one) may be a write in progress: kept.
        let live = checkpointDir.appendingPathComponent(".last.safetensors.tmp-\(getpid())-2")
        try Data(count: 16).write(to: live)
        // Resume with the three-epoch run file (same model) from the two-epoch checkpoint.
        let three = try writeRun(in: dir.url, name: "two", train: #""epochs": 3, "batch_size": 64"#)
        expectSuccess(try saddle(["train", three.path, "--resume", checkpointDir.appendingPathComponent("last.safetensors").path]))
        #expect(!FileManager.default.fileExists(atPath: abandoned.path))
        #expect(FileManager.default.fileExists(atPath: live.path))
        let lines = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n")
        let epochs = lines.compactMap { line -> Int? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return object["epoch"] as? Int
        }
        #expect(epochs == [1, 2, 3])
        #expect(try Checkpoint.read(from: checkpointDir.appendingPathComponent("last.safetensors")).epoch == 3)
    }

    @Test("CSV files with CRLF line ends read like LF ones")
    func crlfCSV() throws {
        let lf = try CSVReader().parse(Data("1,2,0\n3,4,1\n5,6,2\n".utf8), name: "lf")
        let crlf = try CSVReader().parse(Data("1,2,0\r\n3,4,1\r\n5,6,2\r\n".utf8), name: "crlf")
        #expect(crlf.features.doubles == lf.features.doubles)
        #expect(crlf.labels.doubles == lf.labels.doubles)
        #expect(crlf.classCount == 3)
        let header = try CSVReader(hasHeader: true).parse(Data("a,b,label\r\n1,2,0\r\n3,4,1\r\n".utf8), name: "header")
        #expect(header.count == 2)
    }

    @Test("class labels are bounded and checked against a given class count")
    func classLimit() throws {
        #expect(throws: DataError.self) { try CSVReader().parse(Data("1,100000\n2,0\n".utf8), name: "x") }
        #expect(try CSVReader().parse(Data("1,99999\n2,0\n".utf8), name: "x").classCount == 100_000)
        #expect(throws: DataError.self) { try CSVReader(classCount: 3).parse(Data("1,3\n2,0\n".utf8), name: "x") }
        // Values beyond Float32's range would become infinities in a Float32 data set.
        #expect(throws: DataError.self) { try CSVReader().parse(Data("1e39,0\n2,1\n".utf8), name: "x", dtype: .float32) }
        #expect(try CSVReader().parse(Data("1e39,0\n2,1\n".utf8), name: "x", dtype: .float64).count == 2)
        // Fractional or negative targets are regression targets, without classes.
        #expect(try CSVReader().parse(Data("1,0.5\n2,-1\n".utf8), name: "x").classCount == nil)
    }

    @Test("validate rejects what train would, naming the file and the JSON path", arguments: [
        ("mse on class labels", #"[{"layer": "dense", "units": 10}]"#, #""epochs": 1, "batch_size": 64"#, #""loss": "mean_squared_error","#, "", "loss"),
        ("labels beyond the outputs", #"[{"layer": "dense", "units": 5}]"#, #""epochs": 1, "batch_size": 64"#, "", "", "loss"),
        ("batchnorm with batches of one", #"[{"layer": "dense", "units": 8}, {"layer": "batchnorm"}, {"layer": "dense", "units": 10}]"#, #""epochs": 1, "batch_size": 1"#, "", "", "train.batch_size"),
        ("batchnorm with a last batch of one", #"[{"layer": "dense", "units": 8}, {"layer": "batchnorm"}, {"layer": "dense", "units": 10}]"#, #""epochs": 1, "batch_size": 1437"#, "", "", "train.batch_size"),
        ("empty held-out split", #"[{"layer": "dense", "units": 10}]"#, #""epochs": 1, "batch_size": 64"#, "", "validation-tiny", "data.validation"),
        ("checkpoint_dir is a file", #"[{"layer": "dense", "units": 10}]"#, #""epochs": 1, "batch_size": 64"#, "", "file-dir", "train.checkpoint_dir"),
        ("metrics_file is a directory", #"[{"layer": "dense", "units": 10}]"#, #""epochs": 1, "batch_size": 64"#, "", "metrics-dir", "train.metrics_file"),
        ("checkpoint_dir on a read-only file system", #"[{"layer": "dense", "units": 10}]"#, #""epochs": 1, "batch_size": 64"#, "", "proc-dir", "train.checkpoint_dir"),
        ("batchnorm a transform inserts, with a last batch of one", #"[{"layer": "dense", "units": 8}, {"layer": "relu"}, {"layer": "dense", "units": 10}]"#, #""epochs": 2, "batch_size": 1437"#, #""transforms": [{"at_epoch": 1, "name": "insert_batchnorm", "layer": "0"}],"#, "", "train.batch_size"),
        ("transform naming no layer", #"[{"layer": "dense", "units": 10}]"#, #""epochs": 2, "batch_size": 64"#, #""transforms": [{"at_epoch": 1, "name": "net2wider", "layer": "7", "units": 20}],"#, "", "transforms[0].layer"),
    ])
    func validateKnowsWhatTrainRejects(_ label: String, _ model: String, _ train: String, _ extra: String, _ special: String, _ path: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var data = #"{"name": "digits"}"#
        var trainSection = train
        switch special {
        case "validation-tiny": data = #"{"name": "digits", "validation": 0.0001}"#
        case "file-dir":
            try "not a directory".write(to: dir.file("occupied"), atomically: true, encoding: .utf8)
            trainSection += #", "checkpoint_dir": "\#(dir.file("occupied").path)/sub""#
        case "metrics-dir":
            try FileManager.default.createDirectory(at: dir.file("metrics"), withIntermediateDirectories: true)
            trainSection += #", "metrics_file": "\#(dir.file("metrics").path)""#
        case "proc-dir": trainSection += #", "checkpoint_dir": "/sys/saddle-cannot-write-here""#
        default: break
        }
        // A later "checkpoint_dir" key replaces the default one; the strict decoder refuses
        // duplicates, so the run file is written without the default when one is given.
        let url = dir.file("run.json")
        let checkpointDefault = trainSection.contains("checkpoint_dir") ? "" : #", "checkpoint_dir": "\#(dir.file("out").path)""#
        try """
            {"format_version": 1, "name": "run", "seed": 1, \(extra)
             "data": \(data), "model": \(model), "optimizer": {"name": "sgd", "learning_rate": 0.05},
             "train": {\(trainSection), "progress": "silent"\(checkpointDefault)}}
            """.write(to: url, atomically: true, encoding: .utf8)
        let validated = try saddle(["validate", url.path])
        expectRefusal(validated, mentions: [url.path, path])
        let trained = try saddle(["train", url.path])
        expectRefusal(trained, mentions: [url.path, path])
        #expect(validated.standardError.replacingOccurrences(of: "validate", with: "train") == trained.standardError, "\(label)")
    }

    @Test("messages name the file and the system's reason")
    func messagesNameTheFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let directoryAsData = try writeRun(in: dir.url, data: #"{"name": "csv", "path": "\#(dir.url.path)"}"#)
        expectRefusal(try saddle(["validate", directoryAsData.path]), mentions: [dir.url.path, "is a directory"])
        expectRefusal(try saddle(["eval", dir.url.path]), mentions: [dir.url.path, "is a directory"])
        expectRefusal(try saddle(["validate", dir.url.path]), mentions: [dir.url.path, "is a directory"])
        let (_, checkpoint) = try trainedRun(in: dir.url)
        let malformed = dir.file("transforms.safetensors")
        try FileManager.default.copyItem(at: checkpoint, to: malformed)
        try rewrite(malformed) { $0.metadata["transforms"] = #"{"name": "net2wider", "layer": "0"}"# }
        expectRefusal(try saddle(["eval", malformed.path]), mentions: [malformed.path, "metadata transforms line 1"])
        expectRefusal(try saddle(["analyze", malformed.path]), mentions: [malformed.path, "metadata transforms line 1"])
    }

    @Test("analyze says what its index is when it only estimates the extremes")
    func analyzeIndexIsLabelled() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (_, checkpoint) = try trainedRun(in: dir.url)
        let result = try saddle(["analyze", checkpoint.path, "--full-spectrum-limit", "10", "--count", "3", "--examples", "200"])
        expectSuccess(result)
        #expect(result.standardOutput.contains("not the index of the whole spectrum"), "\(result)")
        let json = try saddle(["analyze", checkpoint.path, "--full-spectrum-limit", "10", "--count", "3", "--examples", "200", "--json"])
        #expect(json.standardOutput.contains(#""index_of": "extreme_estimates""#), "\(json)")
    }

    @Test("interpolate takes negative bounds as typed, and list prints its headings")
    func commandLineDetails() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (_, checkpoint) = try trainedRun(in: dir.url)
        let interpolated = try saddle(["interpolate", checkpoint.path, "--lower", "-0.25", "--upper", "1.25", "--points", "3"])
        expectSuccess(interpolated)
        #expect(interpolated.standardOutput.contains("-0.25"), "\(interpolated)")
        let listed = try saddle(["list"])
        expectSuccess(listed)
        #expect(listed.standardOutput.contains("losses:") && !listed.standardOutput.contains("losss"))
    }
}
