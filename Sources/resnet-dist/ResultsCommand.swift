import ArgumentParser
import Foundation
import ResNetReport
import ResNetTraining

struct ResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Summarise compare runs against the thesis's figures (Markdown, as launch/replicate writes).",
        discussion: """
            Reads every summary.json under each DIR (one directory per experiment, as written by \
            `resnet-dist compare --out DIR`), groups them by experiment and prints the thesis's \
            figure beside ours with a verdict on each claim. A comparison that did not finish \
            (no comparison.md: stopped or killed) is skipped with a note on stderr, and of several \
            runs of the same variant only the newest counts.
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
                throw ValidationError("no finished run under \(dir) (no summary.json outside unfinished comparisons); run `resnet-dist compare --out \(dir)` first, or finish a comparison with compare --resume")
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
        var unfinished: Set<String> = []
        for case let path as String in walker where path.hasSuffix("summary.json") {
            if let comparison = unfinishedComparison(containing: path, under: dir) {
                unfinished.insert(comparison)
                continue
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(path)))
            found.append((path, try JSONDecoder().decode(RunSummary.self, from: data)))
        }
        for comparison in unfinished.sorted() {
            FileHandle.standardError.write(Data("results: skipping the unfinished comparison \(comparison) (no comparison.md); continue it with: resnet-dist compare --resume \(comparison)\n".utf8))
        }
        // Run directories are named by their start time: of several runs of a variant, the
        // newest (last in path order) counts.
        var newest: [String: (String, RunSummary)] = [:]
        for (path, summary) in found.sorted(by: { $0.0 < $1.0 }) {
            let key = "\(summary.experiment)/\(summary.variant)"
            if let older = newest[key] {
                FileHandle.standardError.write(Data("results: \(key): using \(path), not the older \(older.0)\n".utf8))
            }
            newest[key] = (path, summary)
        }
        let order = ["shallow", "deep", "deep-euler", "multilevel", "rk2"]
        return newest.values.map(\.1).sorted { (order.firstIndex(of: $0.variant) ?? 9) < (order.firstIndex(of: $1.variant) ?? 9) }
    }

    /// The comparison directory (`…-compare-…`, holding compare-configs.json) above `path` whose
    /// comparison never finished (no comparison.md), if there is one.
    private func unfinishedComparison(containing path: String, under dir: String) -> String? {
        var components = (path as NSString).pathComponents.dropLast()
        let fm = FileManager.default
        while true {
            let candidate = ([dir] + components).joined(separator: "/")
            let isComparison = fm.fileExists(atPath: candidate + "/" + comparisonConfigs)
                || (candidate as NSString).lastPathComponent.contains("-compare-")
            if isComparison && !fm.fileExists(atPath: candidate + "/comparison.md") { return candidate }
            guard !components.isEmpty else { return nil }
            components.removeLast()
        }
    }
}
