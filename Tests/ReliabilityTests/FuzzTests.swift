import Foundation
import Saddle
import SaddleFuzzHarness
import SaddleTestSupport
import Testing

/// The committed seed inputs of each format (Tests/ReliabilityTests/Corpus/<format>/).
func corpus(_ format: FuzzFormat) throws -> [[UInt8]] {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus").appendingPathComponent(format.rawValue)
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    return try names.map { [UInt8](try Data(contentsOf: directory.appendingPathComponent($0))) }
}

/// Inputs per format: `SADDLE_FUZZ_ITERATIONS`, else a number sized to keep `make test` short.
func iterations(_ format: FuzzFormat) -> Int {
    if let text = ProcessInfo.processInfo.environment["SADDLE_FUZZ_ITERATIONS"], let n = Int(text), n > 0 { return n }
    switch format {
    case .runFile, .checkpoint: return 3000
    default: return 5000
    }
}

@Suite("Seeded structure-aware fuzzing of every input format")
struct FuzzTests {
    @Test("mutated inputs are accepted or refused with a message naming the file; nothing crashes", arguments: FuzzFormat.allCases)
    func mutatedInputs(_ format: FuzzFormat) throws {
        let seeds = try corpus(format)
        #expect(!seeds.isEmpty)
        let scratch = try TemporaryDirectory("saddle-fuzz-\(format.rawValue)")
        defer { scratch.remove() }
        let harness = try FuzzHarness(scratch: scratch.url)
        // The input being tried is saved first, so a crash (which ends the process) leaves it
        // behind for `saddle-fuzz` to replay.
        let last = FileManager.default.temporaryDirectory.appendingPathComponent("saddle-fuzz-last-\(format.rawValue)")
        var mutator = Mutator(seed: 20261201 &+ UInt64(FuzzFormat.allCases.firstIndex(of: format) ?? 0))
        var accepted = 0
        var reasons: [String: Int] = [:]
        var problems: [String] = []
        // The seeds as they are must be accepted (they are valid files), else mutating them
        // would explore only the first check.
        for (index, seed) in seeds.enumerated() {
            let outcome = harness.run(format, seed)
            #expect(outcome.accepted || format == .pluginDescriptor, "seed \(index) of \(format.rawValue) is refused: \(outcome.message)")
        }
        let count = iterations(format)
        for iteration in 0..<count {
            var input = seeds[iteration % seeds.count]
            let rounds = mutator.chance(0.7) ? 1 : 2 + mutator.below(2)
            for _ in 0..<rounds { input = mutator.mutate(input, as: format) }
            try? Data(input).write(to: last)
            let outcome = harness.run(format, input)
            if outcome.accepted { accepted += 1 } else { reasons[FuzzTests.reason(outcome.message), default: 0] += 1 }
            if let problem = outcome.problem, problems.count < 10 {
                problems.append("input \(iteration): \(problem)\n  \(String(decoding: input.prefix(300), as: UTF8.self))")
            }
        }
        try? FileManager.default.removeItem(at: last)
        #expect(problems.isEmpty, "\(format.rawValue): refusals that do not say where:\n\(problems.joined(separator: "\n"))")
        // Mutations that never get past the first check test little: some must be accepted.
        #expect(accepted > 0 && accepted < count, "\(format.rawValue): \(accepted) of \(count) inputs accepted")
        print("fuzz \(format.rawValue): \(count) inputs, \(accepted) accepted, \(count - accepted) refused")
        for (reason, n) in reasons.sorted(by: { $0.value > $1.value }).prefix(8) { print("  \(n) \(reason)") }
    }

    /// A refusal's message without file names and numbers, to count refusals by kind.
    static func reason(_ message: String) -> String {
        let words = message.split(separator: " ").filter { !$0.contains("/") }.map { word in
            word.allSatisfy { $0.isNumber || ".-e[],".contains($0) } ? "N" : String(word)
        }
        return words.prefix(9).joined(separator: " ")
    }
}
