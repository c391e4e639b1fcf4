import XCTest
@testable import ResNetCore

/// Inference mode must compute the same function as training mode once the running statistics
/// equal the batch statistics: after many training forwards on one fixed batch (momentum 0.1),
/// the running mean/variance converge to that batch's statistics (up to n/(n−1) for the
/// variance), so both modes must give nearly the same outputs on that batch.
final class InferenceModeTests: XCTestCase {
    func checkModes(_ spec: ModelSpec, batch: Int) throws {
        let model = ResNetModel(spec: spec, seed: 3)
        let x = randomTensor([batch] + spec.inputShape, seed: 11)
        var trainingOut = try model.forward(x, training: true)
        for _ in 0..<100 { trainingOut = try model.forward(x, training: true) }
        let inferenceOut = try model.forward(x, training: false)
        var worst: Float = 0, scale: Float = 0
        for (a, b) in zip(trainingOut.data, inferenceOut.data) {
            worst = max(worst, abs(a - b))
            scale = max(scale, abs(a))
        }
        print("\(spec.kind) \(spec.blocks) \(spec.integrator): max |train − inference| = \(worst) (output scale \(scale))")
        XCTAssertLessThan(worst, 1e-3 * max(scale, 1))
    }

    /// Every Runge–Kutta stage keeps its own running statistics (shared γ, β and convolutions),
    /// so inference matches training for multi-stage blocks too. (With one set of statistics
    /// shared by the stages, midpoint differed by 0.039 here and a trained Fashion-MNIST model
    /// fell to chance accuracy in inference.)
    func testCNNInferenceMatchesTrainingModeWithConvergedStatistics() throws {
        for integrator in Integrator.allCases {
            try checkModes(ModelSpec(kind: .cnn, inputShape: [1, 12, 12], outputs: 10, widths: [4, 8], blocks: [2, 2],
                                     h: 0.5, integrator: integrator), batch: 16)
        }
    }

    /// Euler → midpoint at a switch: the new second stage starts from the source block's
    /// (single) running statistics.
    func testProlongationGivesNewStagesTheFirstStagesStatistics() throws {
        let spec = ModelSpec(kind: .cnn, inputShape: [1, 8, 8], outputs: 10, widths: [4], blocks: [2], h: 1)
        let coarse = ResNetModel(spec: spec, seed: 5)
        for i in coarse.state.indices { coarse.state[i] = Float(i) * 0.01 }
        let (fine, _) = try prolong(coarse, toBlocks: [3], rule: .insert, integrator: .midpoint)
        func stats(_ m: ResNetModel, _ name: String) throws -> [Float] {
            let slot = try XCTUnwrap(m.stateSlot(named: name), name)
            return Array(m.state[slot.range])
        }
        for (j, source) in [(0, 0), (1, 0), (2, 1)] {
            for bn in ["bn1", "bn2"] {
                let old = try stats(coarse, "groups.0.blocks.\(source).\(bn).running_mean")
                XCTAssertEqual(try stats(fine, "groups.0.blocks.\(j).\(bn).running_mean"), old)
                XCTAssertEqual(try stats(fine, "groups.0.blocks.\(j).\(bn).stage1.running_mean"), old)
            }
        }
        XCTAssertEqual(fine.parameterCount, ResNetModel(spec: ModelSpec(kind: .cnn, inputShape: [1, 8, 8], outputs: 10,
                                                                         widths: [4], blocks: [3], h: 0.5), seed: 5).parameterCount)
    }
}
