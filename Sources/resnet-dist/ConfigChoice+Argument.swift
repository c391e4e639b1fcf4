import ArgumentParser
import ResNetCore
import ResNetTraining

// The configuration's named values as flag values: `--optimizer sgd` parses to the same value
// a YAML file's `optimizer: sgd` decodes to, and the help lists the names.
extension Activation: ExpressibleByArgument {}
extension ModelSpec.Head: ExpressibleByArgument {}
extension ModelSpec.Initialization: ExpressibleByArgument {}
extension HalfPrecision.Storage: ExpressibleByArgument {}
extension Prolongation: ExpressibleByArgument {}
extension SwitchRule: ExpressibleByArgument {}
extension OptimizerStateOnSwitch: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}
extension InputScaling: ExpressibleByArgument {}
extension Preset: ExpressibleByArgument {}
extension StepRule: ExpressibleByArgument {}
extension Dataset: ExpressibleByArgument {}
extension ModelSpec.Kind: ExpressibleByArgument {}
