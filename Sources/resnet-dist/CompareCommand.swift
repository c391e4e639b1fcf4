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
            """)

    @Option(help: ArgumentHelp("Variants to train, in order (default: all of the experiment's).", valueName: "v,v,…"))
    var variants: String?

    @OptionGroup var options: TrainingOptions

    func run() throws {
        try runMPIJob { comm in
            bootstrapLogging(rank: comm.rank, quiet: options.quiet)
            let name = try options.resolve(variant: nil).experiment
            guard let experiment = Experiment.named(name) else { throw ConfigError.unknownExperiment(name, known: []) }
            let names = variants?.split(separator: ",").map(String.init) ?? experiment.variants.map(\.name)
            // Resolve (and so validate) every variant before training any.
            let configs = try names.map { try options.resolve(variant: $0) }
            var summaries: [RunSummary] = []
            for config in configs {
                summaries.append(try trainVariant(config, options: options, comm: comm))
            }
            if comm.isRoot {
                print("\n\(name) on \(comm.size) rank\(comm.size == 1 ? "" : "s"):\n")
                print(ReportTable.comparison(summaries))
            }
        }
    }
}
