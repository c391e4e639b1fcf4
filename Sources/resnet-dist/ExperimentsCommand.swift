import ArgumentParser
import ResNetTraining

struct ExperimentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments",
        abstract: "List the built-in experiments and their variants.")

    func run() throws {
        // Names are never cut: the columns are as wide as the longest name (at least 16 and 12).
        let nameWidth = max(16, Experiment.all.map(\.name.count).max() ?? 0)
        let variantWidth = max(12, Experiment.all.flatMap { $0.variants.map(\.name.count) }.max() ?? 0)
        for e in Experiment.all {
            print("\(e.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)) \(e.summary)")
            print("    presets: \(e.presetSummary)")
            for v in e.variants {
                let mark = v.name == e.defaultVariant ? "*" : " "
                print("  \(mark) \(v.name.padding(toLength: variantWidth, withPad: " ", startingAt: 0)) \(v.summary)")
            }
        }
        print("\n(* = the default variant; `resnet-dist train --experiment NAME --variant V [--preset thesis]`)")
    }
}
