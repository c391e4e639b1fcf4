import ArgumentParser
import Foundation
import ResNetDistributed
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

    /// One variant of a resumed comparison: its finished run as it is, its stopped run continued
    /// in place from its newest checkpoint, or a new run.
    private func continueVariant(_ config: ExperimentConfig, in directory: String, comm: Communicator) throws -> TrainedVariant {
        let found = try collectively(comm, "find the variant's run") { () -> [UInt8] in
            guard comm.isRoot else { return [] }
            return Array(try comparisonRun(of: config, in: directory).utf8)
        }
        var state = found
        try comm.broadcast(&state, root: 0)
        let text = String(decoding: state, as: UTF8.self)
        if text.hasPrefix("done:") {
            let run = String(text.dropFirst(5))
            var bytes = try collectively(comm, "read the variant's summary") { () -> [UInt8] in
                guard comm.isRoot else { return [] }
                return [UInt8](try Data(contentsOf: URL(fileURLWithPath: run + "/summary.json")))
            }
            try comm.broadcast(&bytes, root: 0)
            let summary = try collectively(comm, "parse the variant's summary") { try JSONDecoder().decode(RunSummary.self, from: Data(bytes)) }
            var fit: TrainedVariant.Fit? = nil
            if config.model == "mlp" {
                // The fit plot needs the final network's function: rebuild it from the run's last checkpoint.
                let final = try loadCheckpoint(run, comm: comm)
                let trainer = try Trainer(config: final.config, communicator: comm, resume: final)
                fit = try collectively(comm, "compute the fitted function") { comm.isRoot ? try trainer.regressionFit() : nil }
            }
            if comm.isRoot, !options.quiet { print("\(config.variant): finished before, kept (\(run))") }
            return TrainedVariant(summary: summary, fit: fit)
        }
        if text.hasPrefix("partial:") {
            let run = String(text.dropFirst(8))
            let checkpoint = try loadCheckpoint(run, comm: comm, history: true)
            return try trainVariant(checkpoint.config, options: options, comm: comm, resume: checkpoint, inPlace: run)
        }
        return try trainVariant(config, options: options, comm: comm, base: directory)
    }
}

/// The file in a comparison directory that lists its variants' configs.
let comparisonConfigs = "compare-configs.json"

/// Rank 0 reads the configs of a comparison directory and shares them.
func readComparison(_ directory: String, comm: Communicator) throws -> [ExperimentConfig] {
    var bytes = try collectively(comm, "read the comparison") { () -> [UInt8] in
        guard comm.isRoot else { return [] }
        let path = (directory as NSString).appendingPathComponent(comparisonConfigs)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(directory) is not a comparison directory (it has no \(comparisonConfigs)); give the directory compare created, e.g. runs/regression-compare-…")
        }
        return [UInt8](data)
    }
    try comm.broadcast(&bytes, root: 0)
    return try collectively(comm, "parse the comparison") {
        let configs = try JSONDecoder().decode([ExperimentConfig].self, from: Data(bytes))
        guard !configs.isEmpty else { throw ValidationError("\(directory)/\(comparisonConfigs) names no variants") }
        for c in configs { try c.validate() }
        return configs
    }
}

/// The state of a variant in a comparison directory: "done:<run>" (it has a summary.json),
/// "partial:<run>" (stopped or killed after a checkpoint: the newest such run) or "new".
func comparisonRun(of config: ExperimentConfig, in directory: String) throws -> String {
    let prefix = "\(config.experiment)-\(config.variant)-"
    let fm = FileManager.default
    let runs = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter { name in
        name.hasPrefix(prefix) && name.dropFirst(prefix.count).first?.isNumber == true
    }.sorted().map { (directory as NSString).appendingPathComponent($0) }
    if let done = runs.last(where: { fm.fileExists(atPath: $0 + "/summary.json") }) { return "done:" + done }
    if let partial = runs.last(where: { (try? TrainingCheckpoint.locate($0)) != nil }) { return "partial:" + partial }
    return "new"
}
