import Foundation
import XCTest
@testable import ResNetTraining

/// Configs written before a key existed read as those runs trained; the other keys are required.
final class ConfigDecodingTests: XCTestCase {
    /// The JSON form of `config` without `keys` (as checkpoints' `config_json` holds it).
    func jsonWithout(_ keys: [String], _ config: ExperimentConfig) throws -> String {
        var json = try JSONSerialization.jsonObject(with: try ExperimentConfig.jsonEncoder().encode(config)) as! [String: Any]
        for k in keys { XCTAssertNotNil(json.removeValue(forKey: k), k) }
        return String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
    }

    func testKeysAddedLaterTakeTheValuesOlderRunsTrainedWith() throws {
        let late = ["keepCheckpoints", "savedActivations", "head", "inputLayer", "initialization", "inputScaling",
                    "augment", "preset", "hRule", "levelLRFactor"]
        var fashion = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel", preset: .thesis)
        fashion.hRule = .depth
        let old = try ExperimentConfig.decode(try jsonWithout(late, fashion), source: "old")
        XCTAssertEqual(old.keepCheckpoints, 3)
        XCTAssertEqual(old.savedActivations, .half)
        XCTAssertEqual(old.head, .pool)
        XCTAssertEqual(old.inputLayer, false)
        XCTAssertEqual(old.initialization, .scaled)
        XCTAssertEqual(old.inputScaling, .raw)
        XCTAssertEqual(old.augment, false)
        XCTAssertEqual(old.preset, .fit)
        XCTAssertEqual(old.hRule, .halve)
        XCTAssertEqual(old.levelLRFactor, 1)
        // CIFAR-10 runs from before the key trained with augmentation.
        let cifar = try ExperimentConfig.builtIn(experiment: "cifar", variant: "deep")
        XCTAssertEqual(try ExperimentConfig.decode(try jsonWithout(["augment"], cifar), source: "old").augment, true)
        // Present keys are read as written, and the whole config round-trips.
        XCTAssertEqual(try ExperimentConfig.decode(try jsonWithout([], fashion), source: "json"), fashion)
        XCTAssertEqual(try ExperimentConfig.decode(try fashion.yaml(), source: "yaml"), fashion)
    }

    func testAKeyOfTheFirstConfigsIsRequired() throws {
        let c = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep")
        XCTAssertThrowsError(try ExperimentConfig.decode(try jsonWithout(["epochs"], c), source: "old.json")) { error in
            XCTAssertTrue("\(error)".contains("epochs"), "\(error)")
        }
    }
}
