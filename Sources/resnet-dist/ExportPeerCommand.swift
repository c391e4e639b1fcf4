import ArgumentParser
import Foundation
import ResNetTraining

/// Writes what an independent implementation needs to reproduce a training run step by step:
/// initial weights, the data order, the data and the level schedule (see `PeerExport`).
/// `launch/pytorch_peer.py` calls it and then trains the same networks in PyTorch.
struct ExportPeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-peer",
        abstract: "Write a run's initial weights, data order, data and level schedule for an independent peer implementation.",
        discussion: """
            One process, no training. The file is safetensors: the first level's parameters and \
            BatchNorm state named as in checkpoints, data.permutation (each epoch's sample order), \
            data.train.x/y and data.test.x/y, and the config and each level's model spec in the \
            metadata. Example:

              resnet-dist export-peer /tmp/peer.safetensors \\
                  --config launch/tests/fixtures/mlp-euler/config.yaml
            """)

    @Argument(help: ArgumentHelp("The safetensors file to write.", valueName: "file"))
    var file: String

    @Option(help: "Variant of the experiment (as for train).")
    var variant: String?

    @OptionGroup var options: TrainingOptions

    func run() throws {
        let config = try options.resolve(variant: variant)
        try PeerExport.write(config: config, to: file)
        print("peer export: \(file)")
    }
}
