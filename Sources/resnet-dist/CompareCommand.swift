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

            `compare --resume DIR` continues a comparison that was stopped or killed: variants \
            that finished are kept, one with a checkpoint continues from it in its own run \
            directory, the others are trained; then the report is written.
            """)

    @Option(help: ArgumentHelp("Variants to train, in order (default: all of the experiment's).", valueName: "v,v,…"))
    var variants: String?

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
                // Resolve (and so validate) every variant before training any.
                configs = try collectively(comm, "resolve the variants") { try names.map { try options.resolve(variant: $0, comparing: true) } }
                // One directory for the comparison, holding each variant's run directory and the
                // variants' configs (what --resume continues).
                var first = configs[0]
                first.variant = "compare"
                directory = try collectively(comm, "create the comparison directory") { () -> String in
                    guard comm.isRoot else { return "" }
                    let directory = try RunOutput.createUnique(base: options.out, config: first)
                    try RunOutput(directory: directory).write(try JSONEncoder().encode(configs), to: comparisonConfigs)
                    return directory
                }
            }
            let names = configs.map(\.variant)
            continueCommand = "resnet-dist compare --resume \(directory)"
            var trained: [TrainedVariant] = []
            for config in configs {
                if options.resume != nil {
                    trained.append(try continueVariant(config, in: directory, comm: comm))
                } else {
                    trained.append(try trainVariant(config, options: options, comm: comm, base: directory))
                }
            }
            let summaries = trained.map(\.summary)
            try collectively(comm, "write the comparison report") {
                guard comm.isRoot else { return }
                let table = ReportTable.comparison(summaries)
                print("\n\(name) on \(comm.size) rank\(comm.size == 1 ? "" : "s"):\n")
                print(table)
                if let line = ReportTable.headline(summaries) { print("\n\(line)") }
                let v = ThesisComparison.verdict(experiment: name, runs: summaries)
                if v.outcome != .incomplete {
                    print("thesis: \(v.claim) — \(v.outcome.rawValue) (\(v.detail))")
                }
                print("\nreport: \(directory)/index.html")
                let fit = trained.first?.fit.map { f in
                    reportFit(trained.compactMap { t in t.fit.map { (t.summary.variant, $0.prediction) } }, f)
                }
                try RunReport.write(runs: summaries, fit: fit, directory: directory, title: "\(name): \(names.joined(separator: ", "))")
                try (table + "\n").write(toFile: directory + "/comparison.md", atomically: true, encoding: .utf8)
            }
        }
    }
}
