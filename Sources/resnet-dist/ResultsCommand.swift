import ArgumentParser
import Foundation
import ResNetTraining

struct ResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Summarise compare runs against the thesis's figures (Markdown, as launch/replicate writes).",
        discussion: """
            Reads every summary.json under each DIR (one directory per experiment, as written by \
            `resnet-dist compare --out DIR`), groups them by experiment and prints the thesis's \
            figure beside ours with a verdict on each claim.
            """)

    @Argument(help: "Directories holding compare runs, e.g. runs/replicate/regression.")
    var directories: [String]

    @Option(help: "How each experiment was scaled, as EXPERIMENT=TEXT or DIRECTORY-NAME=TEXT (repeatable), shown in the table.")
    var scale: [String] = []

    func run() throws {
        let scales = Dictionary(scale.compactMap { s -> (String, String)? in
            let parts = s.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { _, b in b })
        var groups: [(experiment: String, scale: String, runs: [RunSummary])] = []
        for dir in directories {
            let runs = try summaries(under: dir)
            guard let name = runs.first?.experiment else {
                throw ValidationError("no summary.json under \(dir); run `resnet-dist compare --out \(dir)` first")
            }
            let base = (dir as NSString).lastPathComponent
            let scale = scales[base] ?? scales[name] ?? runs.first?.scale?.phrase ?? "as configured"
            groups.append((name, scale, runs))
        }
        print(ThesisComparison.markdown(runsByExperiment: groups))
    }

    private func summaries(under dir: String) throws -> [RunSummary] {
        guard let walker = FileManager.default.enumerator(atPath: dir) else {
            throw ValidationError("cannot read the directory \(dir)")
        }
        var found: [(String, RunSummary)] = []
        for case let path as String in walker where path.hasSuffix("summary.json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(path)))
            found.append((path, try JSONDecoder().decode(RunSummary.self, from: data)))
        }
        let order = ["shallow", "deep", "deep-euler", "multilevel", "rk2"]
        return found.map(\.1).sorted { (order.firstIndex(of: $0.variant) ?? 9) < (order.firstIndex(of: $1.variant) ?? 9) }
    }
}
