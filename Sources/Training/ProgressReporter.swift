import Foundation

/// How training progress is shown.
public enum ProgressStyle: String, Sendable, Codable {
    /// A bar on a terminal, plain lines otherwise.
    case automatic
    /// A bar redrawn in place.
    case bar
    /// Plain lines: one every few seconds within an epoch, one per epoch.
    case lines
    /// Nothing.
    case silent
}

/// Writes progress to standard error: a redrawn bar on a terminal, periodic lines elsewhere.
final class ProgressReporter {
    private let style: ProgressStyle
    private var lastUpdate: UInt64 = 0
    private static let lineInterval: UInt64 = 5_000_000_000
    private static let barInterval: UInt64 = 100_000_000

    init(style: ProgressStyle) {
        if style == .automatic {
            self.style = isatty(STDERR_FILENO) == 1 ? .bar : .lines
        } else {
            self.style = style
        }
    }

    func stepEnded(epoch: Int, of epochs: Int, batch: Int, of batches: Int, loss: Double) {
        let now = DispatchTime.now().uptimeNanoseconds
        switch style {
        case .bar:
            guard now - lastUpdate >= Self.barInterval || batch == batches else { return }
            lastUpdate = now
            let width = 30
            let filled = width * batch / Swift.max(batches, 1)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            write("\r\u{1B}[2Kepoch \(epoch)/\(epochs) [\(bar)] \(batch)/\(batches) loss \(format(loss))")
        case .lines:
            if lastUpdate == 0 { lastUpdate = now }
            guard now - lastUpdate >= Self.lineInterval, batch < batches else { return }
            lastUpdate = now
            write("epoch \(epoch)/\(epochs): batch \(batch)/\(batches), loss \(format(loss))\n")
        case .automatic, .silent:
            return
        }
    }

    func epochEnded(_ metrics: EpochMetrics, of epochs: Int) {
        guard style != .silent else { return }
        var line = "epoch \(metrics.epoch)/\(epochs)  loss \(format(metrics.trainingLoss))"
        if let accuracy = metrics.trainingAccuracy { line += "  accuracy \(percent(accuracy))" }
        if let loss = metrics.validationLoss { line += "  validation loss \(format(loss))" }
        if let accuracy = metrics.validationAccuracy { line += "  validation accuracy \(percent(accuracy))" }
        line += "  lr \(format(metrics.learningRate))  \(String(format: "%.2f", metrics.seconds))s"
        write((style == .bar ? "\r\u{1B}[2K" : "") + line + "\n")
        lastUpdate = 0
    }

    private func format(_ value: Double) -> String { String(format: "%.4f", value) }
    private func percent(_ value: Double) -> String { String(format: "%.2f%%", 100 * value) }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
