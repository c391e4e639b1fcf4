import ArgumentParser
import ResNetTraining

struct ExperimentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments",
        abstract: "List the built-in experiments and their variants.")

    func run() throws {
        for e in Experiment.all {
            print("\(e.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(e.summary)")
            print("    presets: \(e.presetSummary)")
            for v in e.variants {
                let mark = v.name == e.defaultVariant ? "*" : " "
                print("  \(mark) \(v.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(v.summary)")
            }
        }
        print("\n(* = the default variant; `resnet-dist train --experiment NAME --variant V [--preset thesis]`)")
    }
}
