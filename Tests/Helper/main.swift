// saddle-test-helper: child processes for tests that need a process of their own.
//
//   saddle-test-helper write-checkpoints PATH   rewrites the checkpoint at PATH in a loop,
//                                               each time with different values, until killed
import Foundation
import Saddle

func writeCheckpointsForever(to url: URL) throws {
    var generator = RandomGenerator(seed: 1)
    var round = 0.0
    while true {
        round += 1
        let weight = Tensor.randomNormal([512, 512], using: &generator)
        let checkpoint = Checkpoint(tensors: ["weight": weight, "round": Tensor([round])], epoch: Int(round))
        try checkpoint.write(to: url)
        FileHandle.standardOutput.write(Data("\(Int(round))\n".utf8))
    }
}

let arguments = CommandLine.arguments
do {
    guard arguments.count == 3, arguments[1] == "write-checkpoints" else {
        FileHandle.standardError.write(Data("usage: saddle-test-helper write-checkpoints PATH\n".utf8))
        exit(2)
    }
    try writeCheckpointsForever(to: URL(fileURLWithPath: arguments[2]))
} catch {
    FileHandle.standardError.write(Data("saddle-test-helper: \(error)\n".utf8))
    exit(1)
}
