import ArgumentParser
import Foundation
import ResNetDistributed
import ResNetReport
import ResNetTraining

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Train every variant of an experiment under the same mpirun and print the thesis-style table.",
        discussion: """
            The table shows, per variant, the final training loss, the test metric, the training \
            wall time and the time at each level, the peak memory per rank, and the saving of each \
            variant against the deep baseline. This is what `resnet-dist` runs with no arguments \
            (on the regression experiment, which needs no data files).

            Every variant is trained once per seed (default: seeds 1, 2 and 3; `--seed N` trains \
            that seed alone), and the table shows each figure as mean ± standard deviation over \
            the seeds, with the time to reach a target metric. The verdict on the thesis's claim \
            pairs the runs by seed: it holds when the 95 % interval of the metric difference lies \
            within the tolerance and the training-step time saving is positive for every seed, is \
            refuted when the interval lies outside, and is undecided otherwise (always with one seed).

            `compare --resume DIR` continues a comparison that was stopped or killed: variants \
            that finished are kept, one with a checkpoint continues from it in its own run \
            directory, the others are trained; then the report is written.
            """)

    @Option(help: ArgumentHelp("Variants to train, in order (default: all of the experiment's).", valueName: "v,v,…"))
    var variants: String?

    @Option(help: ArgumentHelp("Seeds to train every variant with: a list (1,2,3) or a count N (seeds 1…N). Default: 3 seeds, or the one --seed names.", valueName: "s,s,… | N"))
    var seeds: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("The metric of 'time to target': an accuracy (0.905 = 90.5 %) or an error norm. Default: 0.905 for Fashion-MNIST, 0.88 for CIFAR-10, 1.0 for the regressions.", valueName: "value"))
    var target: Double?

    /// The seeds of the comparison: `--seeds` as a list or a count, else `--seed` alone, else 1…3.
    func seedList() throws -> [Int] {
        if let seeds {
            let parts = seeds.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let numbers = parts.map { Int($0) }
            guard !parts.isEmpty, numbers.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--seeds '\(seeds)' is not a list of seeds (1,2,3) or a count (3)")
            }
            if options.seed != nil { throw ValidationError("--seeds and --seed both name seeds; give one of them") }
            let list = parts.count == 1 ? Array(1...max(1, numbers[0]!)) : numbers.map { $0! }
            guard numbers[0]! >= 1 || parts.count > 1, Set(list).count == list.count, list.allSatisfy({ $0 >= 0 }) else {
                throw ValidationError("--seeds '\(seeds)': a count must be ≥ 1, and a list must name distinct non-negative seeds")
            }
            guard list.count <= 100 else { throw ValidationError("--seeds '\(seeds)' names \(list.count) seeds; at most 100") }
            return list
        }
        return options.seed.map { [$0] } ?? [1, 2, 3]
    }

    /// What the comparison will train, said before the first epoch: with `--quiet` only when
    /// `--seeds` was a count (`--seeds 3` is seeds 1, 2 and 3, not seed 3, a slip that would
    /// otherwise show only hours later).
    func planLine(name: String, variants: [String], configs: [ExperimentConfig], directory: String) -> String? {
        var seedOrder: [Int] = []
        for c in configs where !seedOrder.contains(c.seed) { seedOrder.append(c.seed) }
        let countForm = seeds.map { !$0.contains(",") } ?? false
        guard !options.quiet || (countForm && seedOrder.count > 1) else { return nil }
        let seedText = (seedOrder.count == 1 ? "seed " : "seeds ") + seedOrder.map(String.init).joined(separator: ", ")
        var line = "compare: \(name): \(variants.joined(separator: ", ")) × \(seedText) (\(configs.count) run\(configs.count == 1 ? "" : "s")) in \(directory)"
        if countForm, let n = seedOrder.last, seedOrder.count > 1 {
            line += " (--seeds \(n) is a count; --seed \(n) trains seed \(n) alone)"
        }
        return line
    }

    @OptionGroup var options: TrainingOptions

    func run() throws {
        try runMPIJob { comm in
            bootstrapLogging(rank: comm.rank, quiet: options.quiet)
            try stopCleanlyOnSignals()
            var name = try collectively(comm, "read the config") { () -> String in
                if options.resume != nil, variants != nil {
                    throw ValidationError("--resume continues the comparison with its own variants; drop --variants")
                }
                return try options.resolve(variant: nil).experiment
            }
            let configs: [ExperimentConfig]
            let directory: String
            if let resume = options.resume {
                configs = try readComparison(resume, comm: comm)
                directory = resume
                name = configs[0].experiment
            } else {
                guard let experiment = Experiment.named(name) else { throw ConfigError.unknownExperiment(name, known: []) }
                let names = variants?.split(separator: ",").map(String.init) ?? experiment.variants.map(\.name)
                // Resolve (and so validate) every variant before training any; all variants of
                // a seed before the next seed, so a stopped comparison has complete pairs.
                configs = try collectively(comm, "resolve the variants") {
                    let seeds = try seedList()
                    let resolved = try names.map { try options.resolve(variant: $0, comparing: true) }
                    return seeds.flatMap { seed in resolved.map { c in var c = c; c.seed = seed; return c } }
                }
                // One directory for the comparison, holding each variant's run directory and the
                // variants' configs (what --resume continues).
                var first = configs[0]
                first.variant = "compare"
                directory = try collectively(comm, "create the comparison directory") { () -> String in
                    guard comm.isRoot else { return "" }
                    let directory = try RunOutput.createUnique(base: options.outBase, config: first)
                    try RunOutput(directory: directory).write(try JSONEncoder().encode(configs), to: comparisonConfigs)
                    return directory
                }
            }
            var names: [String] = []
            for c in configs where !names.contains(c.variant) { names.append(c.variant) }
            let seedCount = Set(configs.map(\.seed)).count
            if comm.isRoot, options.resume == nil, let line = planLine(name: name, variants: names, configs: configs, directory: directory) {
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            var trained: [TrainedVariant] = []
            do {
                for config in configs {
                    let base = seedCount > 1 ? seedDirectory(directory, seed: config.seed) : directory
                    if options.resume != nil {
                        trained.append(try continueVariant(config, in: base, comm: comm))
                    } else {
                        let label = seedCount > 1 ? "\(config.variant) s\(config.seed)" : config.variant
                        trained.append(try trainVariant(config, options: options, comm: comm, base: base, label: label))
                    }
                }
            } catch where isStop(error) {
                // A stopped comparison continues as a whole.
                throw ContinuedStop(stop: error, command: "resnet-dist compare --resume \(directory)")
            }
            let summaries = trained.map(\.summary)
            try collectively(comm, "write the comparison report") {
                guard comm.isRoot else { return }
                let kind = summaries.first?.testMetricName ?? .accuracy
                let goal = target ?? MetricTarget.defaultTarget(experiment: name, metric: kind)
                let table = SeedTable(variants: SeededVariant.group(summaries), target: goal).markdown
                print("\n\(name) on \(comm.size) rank\(comm.size == 1 ? "" : "s"), \(seedCount) seed\(seedCount == 1 ? "" : "s") (mean ± standard deviation):\n")
                print(table)
                let perRun = ReportTable.comparison(summaries)
                // One seed: the run's own details (blocks, time per level, memory) instead.
                if seedCount == 1 { print("\n" + perRun) }
                for line in ReportTable.perSeedDifferences(summaries) where seedCount > 1 { print(line) }
                if let line = ReportTable.headline(summaries) { print("\n\(line)") }
                let v = ThesisComparison.verdict(experiment: name, runs: summaries)
                if v.outcome != .incomplete { print("thesis: \(v.line)") }
                // An experiment whose claim asks for a time saving: every variant against its goal.
                let goals = Frontier.goals([name])
                let frontier = goals.isEmpty ? [] : Frontier.points([(name, summaries)], targets: target.map { [name: $0] } ?? [:])
                let frontierTable = frontier.isEmpty ? "" : Frontier.markdown(frontier, goals: goals)
                if !frontierTable.isEmpty { print("\nEvery variant against deep and the goal:\n\n" + frontierTable) }
                print("\nreport: \(directory)/index.html")
                // The fit plot shows the first seed's networks.
                let firstSeed = configs[0].seed
                let fits = trained.filter { $0.summary.seed == firstSeed }
                let fit = fits.first?.fit.map { f in
                    reportFit(fits.compactMap { t in t.fit.map { (t.summary.variant, $0.prediction) } }, f)
                }
                try RunReport.write(runs: summaries, fit: fit, directory: directory,
                                    title: "\(name): \(names.joined(separator: ", "))", target: goal)
                try (table + "\n\n" + SeedTable.footnote + (frontierTable.isEmpty ? "" : "\n\nEvery variant against deep and the goal:\n\n" + frontierTable)
                     + "\n\nEvery run:\n\n" + perRun + "\n")
                    .write(toFile: directory + "/comparison.md", atomically: true, encoding: .utf8)
            }
        }
    }
}

/// Where the runs of one seed go in a comparison of several seeds.
func seedDirectory(_ directory: String, seed: Int) -> String {
    (directory as NSString).appendingPathComponent("seed-\(seed)")
}
