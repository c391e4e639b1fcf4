import ArgumentParser
import Foundation
import ResNetReport
import ResNetSafeTensors
import ResNetTraining

struct ResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Summarise compare runs against the thesis's figures (Markdown, as launch/replicate writes).",
        discussion: """
            Reads every summary.json under each DIR (as written by compare or train with \
            --out DIR), groups the runs by their own experiment and variant, and prints \
            per variant the mean ± standard deviation over the seeds beside the thesis's figure, \
            the time to a target metric, and a verdict on each claim from the runs paired by seed \
            (the rule `compare` uses). A comparison that did not finish (no comparison.md: stopped, \
            killed or still running) is skipped with a note on stderr — or, with --unfinished, its \
            finished runs count (the seeds done so far of a long comparison) — and of several runs \
            of the same experiment, variant and seed only the newest counts.

            With --charts DIR it also writes DIR/<experiment>-time.svg: each experiment's test \
            metric against the training steps' time, every variant on one chart (the thesis's claim is time \
            at equal quality), and DIR/frontier.svg: every variant of the accuracy experiments against \
            its deep network (time relative to deep across, accuracy difference up, a dot per seed), \
            with the goal of a claim that asks for a saving shaded — the table below the verdicts \
            gives the same figures. With --readme FILE it replaces the text between the lines \
            `<!-- results:begin -->` and `<!-- results:end -->` of FILE with the same Markdown \
            (charts linked relative to FILE), so the README's results are rebuilt from the kept runs:

              resnet-dist results launch/results/*-fashion-full \\
                  --charts launch/results/charts --readme README.md
            """)

    @Argument(help: "Directories holding compare runs, e.g. runs/replicate/regression.")
    var directories: [String]

    @Option(help: "How each experiment was scaled, as EXPERIMENT=TEXT or DIRECTORY-NAME=TEXT (repeatable), shown in the table.")
    var scale: [String] = []

    @Option(help: "The target of 'time to target' per experiment, as EXPERIMENT=VALUE (repeatable; default 0.905 for Fashion-MNIST, 0.88 for CIFAR-10, 1.0 for the regressions).")
    var target: [String] = []

    @Flag(help: "Also count the finished runs of comparisons that have not finished (stopped or still running), e.g. the first seeds of a long --seeds comparison.")
    var unfinished = false

    @Option(help: "Write each experiment's time-to-metric chart (<experiment>-time.svg) into this directory.")
    var charts: String?

    @Option(help: "Rewrite the block between '<!-- results:begin -->' and '<!-- results:end -->' of this Markdown file.")
    var readme: String?

    func run() throws {
        let scales = Dictionary(scale.compactMap { s -> (String, String)? in
            let parts = s.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { _, b in b })
        var targets: [String: Double] = [:]
        for t in target {
            let parts = t.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let v = Double(parts[1]), v.isFinite, v > 0 else {
                throw ValidationError("--target '\(t)' is not EXPERIMENT=VALUE (e.g. fashion=0.905)")
            }
            targets[parts[0]] = v
        }
        var all: [(directory: String, run: RunSummary)] = []
        for dir in directories {
            let runs = try summaries(under: dir)
            guard !runs.isEmpty else {
                throw ResultsError(description: "no finished run under \(dir) (no summary.json outside unfinished comparisons); run `resnet-dist compare --out \(dir)` first, finish a comparison with compare --resume, or count the finished runs of an unfinished one with --unfinished")
            }
            all += runs.map { (dir, $0) }
        }
        // One group per directory and experiment: each run counts under its own experiment, and
        // runs in different directories (other scales, other days) are not pooled.
        var keys: [(directory: String, experiment: String)] = []
        for (d, r) in all where !keys.contains(where: { $0 == (d, r.experiment) }) { keys.append((d, r.experiment)) }
        let groups = keys.map { key -> (experiment: String, scale: String, runs: [RunSummary], directory: String) in
            let mine = all.filter { $0.directory == key.directory && $0.run.experiment == key.experiment }.map(\.run)
            let scale = scales[key.directory] ?? scales[key.experiment] ?? mine.first?.scale?.phrase ?? "as configured"
            return (key.experiment, scale, mine, key.directory)
        }
        var markdown = ThesisComparison.markdown(runsByExperiment: groups.map { ($0.experiment, $0.scale, $0.runs) }, targets: targets)
        let frontier = Frontier.points(groups.map { ($0.experiment, $0.runs) }, targets: targets)
        let goals = Frontier.goals(groups.map(\.experiment))
        if !frontier.isEmpty {
            markdown += "\n\n**Time saved against accuracy lost**: every variant against the deep network of its experiment, paired by seed (time counted as in the tables above).\n\n"
                + Frontier.markdown(frontier, goals: goals)
        }
        if let charts {
            do { try FileManager.default.createDirectory(atPath: charts, withIntermediateDirectories: true) } catch {
                throw TrainingError.output("cannot create the chart directory \(charts): \((error as NSError).localizedDescription)")
            }
            var links: [String] = []
            for group in groups where group.runs.contains(where: { !$0.history.isEmpty }) {
                // An experiment kept in several directories gets a chart for each, named after it.
                let shared = groups.filter { $0.experiment == group.experiment }.count > 1
                let name = shared ? "\(group.experiment)-\(Self.slug(group.directory))" : group.experiment
                let file = (charts as NSString).appendingPathComponent("\(name)-time.svg")
                let svg = RunReport.timeSVG(group.runs, title: "\(group.experiment): test metric against training time (\(group.scale))",
                                            target: targets[group.experiment])
                try write(svg, to: file)
                links.append("[\(name)](\(relative(file, to: readme)))")
            }
            markdown += "\n\nTest metric against training time (switches marked, target dotted): " + links.joined(separator: " · ")
            if !frontier.isEmpty {
                let file = (charts as NSString).appendingPathComponent("frontier.svg")
                try write(Frontier.svg(frontier, goals: goals, title: "Time saved against accuracy lost, every variant against deep"), to: file)
                markdown += "\n\nTime saved against accuracy lost (seeds as dots, mean ± 95 % interval as a cross, the goal shaded): [frontier](\(relative(file, to: readme)))"
            }
        }
        if let readme { try replaceResults(in: readme, with: markdown) } else { print(markdown) }
    }

    static let begin = "<!-- results:begin -->", end = "<!-- results:end -->"

    /// A directory's last component as a file-name part: letters, digits, '.', '_' and '-'.
    static func slug(_ directory: String) -> String {
        let last = (directory as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? "runs"
        return String(last.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "-" })
    }

    /// Replaces the marked block of `file` (markers kept), or fails naming what is missing.
    private func replaceResults(in file: String, with markdown: String) throws {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ResultsError(description: "cannot read \(file); --readme names an existing Markdown file")
        }
        guard let a = text.range(of: Self.begin), let b = text.range(of: Self.end, range: a.upperBound..<text.endIndex) else {
            throw ResultsError(description: "\(file) has no '\(Self.begin)' … '\(Self.end)' block; add the two lines where the results go")
        }
        try write(String(text[..<a.upperBound]) + "\n" + markdown + "\n" + String(text[b.lowerBound...]), to: file)
    }

    private func write(_ text: String, to path: String) throws {
        do { try AtomicFile.write(Array(text.utf8), to: path) } catch {
            throw TrainingError.output("cannot write \(path): \(error)")
        }
    }

    /// `path` relative to the directory of `file` (for a link in it), or as given without a file.
    private func relative(_ path: String, to file: String?) -> String {
        guard let file else { return path }
        let base = URL(fileURLWithPath: file).deletingLastPathComponent().standardizedFileURL.pathComponents
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        let common = zip(base, target).prefix { $0 == $1 }.count
        return (Array(repeating: "..", count: base.count - common) + target[common...]).joined(separator: "/")
    }

    private func summaries(under dir: String) throws -> [RunSummary] {
        guard let walker = FileManager.default.enumerator(atPath: dir) else {
            throw ResultsError(description: "cannot read the directory \(dir)")
        }
        var found: [(String, RunSummary)] = []
        var unfinished: [String: Int] = [:]
        for case let path as String in walker where path.hasSuffix("summary.json") {
            if let comparison = unfinishedComparison(containing: path, under: dir) {
                unfinished[comparison, default: 0] += 1
                if !self.unfinished { continue }
            }
            let file = (dir as NSString).appendingPathComponent(path)
            // One damaged run (a truncated or NaN summary.json) must not hide all the others.
            guard var summary = try? JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: URL(fileURLWithPath: file))) else {
                FileHandle.standardError.write(Data("results: skipping \(file): not a readable summary (truncated, or not valid JSON); rerun or resume that run\n".utf8))
                continue
            }
            // Kept results may drop the history from summary.json: metrics.csv beside it has it.
            let csv = ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("metrics.csv")
            if summary.history.isEmpty, let text = try? String(contentsOfFile: csv, encoding: .utf8) {
                summary.history = try EpochRecord.records(csv: text, metric: summary.testMetricName, source: csv)
            }
            // The scale as today's registry reads the run's config (a summary keeps the one it was
            // written with; an older rule counted the seed and checkpointing of a schedule beyond
            // the thesis as modified settings).
            let yaml = ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("config.yaml")
            if FileManager.default.fileExists(atPath: yaml), let file = try? ConfigOverrides(yamlFile: yaml),
               let config = try? ExperimentConfig.resolve(file: file, fileSource: yaml, flags: ConfigOverrides()) {
                summary.scale = config.scale
            }
            found.append((path, summary))
        }
        for (comparison, runs) in unfinished.sorted(by: { $0.key < $1.key }) {
            let what = self.unfinished ? "counting the \(runs) finished run\(runs == 1 ? "" : "s") of the unfinished comparison \(comparison)"
                                       : "skipping the unfinished comparison \(comparison) (no comparison.md; --unfinished counts its \(runs) finished run\(runs == 1 ? "" : "s"))"
            FileHandle.standardError.write(Data("results: \(what); continue it with: resnet-dist compare --resume \(comparison)\n".utf8))
        }
        // Run directories are named by their start time: of several runs of a variant and seed
        // (a run and its resumed copy, or a rerun), the newest (last in path order) counts.
        var newest: [String: (String, RunSummary)] = [:]
        for (path, summary) in found.sorted(by: { $0.0 < $1.0 }) {
            var summary = summary
            if summary.seed == nil { summary.seed = seedInConfig(beside: (dir as NSString).appendingPathComponent(path)) }
            let key = "\(summary.experiment)/\(summary.variant)/seed \(summary.seed ?? 1)"
            if let older = newest[key] {
                FileHandle.standardError.write(Data("results: \(key): using \(path), not the older \(older.0)\n".utf8))
            }
            newest[key] = (path, summary)
        }
        // Experiments in the registry's order, each in the order it lists its variants (baselines
        // first): the same runs give the same report whatever order the directory lists them in.
        func experimentPlace(_ s: RunSummary) -> Int { Experiment.all.firstIndex { $0.name == s.experiment } ?? Experiment.all.count }
        func place(_ s: RunSummary) -> Int { Experiment.named(s.experiment)?.variants.firstIndex { $0.name == s.variant } ?? 9 }
        return newest.values.map(\.1).sorted {
            (experimentPlace($0), $0.experiment, place($0), $0.variant, $0.seed ?? 1)
                < (experimentPlace($1), $1.experiment, place($1), $1.variant, $1.seed ?? 1)
        }
    }

    /// The seed in the config.yaml beside a summary.json written before summaries recorded it.
    private func seedInConfig(beside summary: String) -> Int? {
        let config = ((summary as NSString).deletingLastPathComponent as NSString).appendingPathComponent("config.yaml")
        guard let text = try? String(contentsOfFile: config, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("seed:") {
            return Int(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
        }
        return nil
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

/// A problem with what `results` reads or writes (not with how it was called): the message alone,
/// without the usage text a ValidationError brings.
struct ResultsError: Error, CustomStringConvertible {
    let description: String
}
