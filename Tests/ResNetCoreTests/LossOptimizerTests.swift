import Foundation
import XCTest
@testable import ResNetCore

final class LossOptimizerTests: XCTestCase {
    func testCrossEntropyHandValueGradientAndCorrectCount() throws {
        let logits = Tensor(shape: [2, 3], data: [1, 2, 3, 0.5, -1, 0.2])
        let (loss, grad, correct) = try softmaxCrossEntropy(logits: logits, labels: [2, 1])
        let l0 = Foundation.log(Foundation.exp(1.0) + Foundation.exp(2.0) + Foundation.exp(3.0)) - 3
        let l1 = Foundation.log(Foundation.exp(0.5) + Foundation.exp(-1.0) + Foundation.exp(0.2)) + 1
        print("cross-entropy vs hand value: |diff| = \(abs(Double(loss) - (l0 + l1) / 2))")
        XCTAssertEqual(Double(loss), (l0 + l1) / 2, accuracy: 1e-6)
        XCTAssertEqual(correct, 1)
        let p02 = Foundation.exp(3.0) / (Foundation.exp(1.0) + Foundation.exp(2.0) + Foundation.exp(3.0))
        XCTAssertEqual(Double(grad[0, 2]), (p02 - 1) / 2, accuracy: 1e-6)
        // Rows of the gradient sum to zero.
        XCTAssertEqual(grad.data[3..<6].reduce(0, +), 0, accuracy: 1e-6)
    }

    func testCrossEntropyHugeLogitsStayFinite() throws {
        let logits = Tensor(shape: [2, 3], data: [1000, 0, -1000, 3e38, -3e38, 0])
        let (loss, grad, correct) = try softmaxCrossEntropy(logits: logits, labels: [1, 0])
        print("cross-entropy with huge logits: loss \(loss), gradient \(grad.data)")
        XCTAssertEqual(loss, 500, accuracy: 1e-3)   // (1000 + 0) / 2
        XCTAssertTrue(grad.data.allSatisfy { $0.isFinite })
        XCTAssertEqual(grad[0, 0], 0.5, accuracy: 1e-6)
        XCTAssertEqual(grad[0, 1], -0.5, accuracy: 1e-6)
        XCTAssertEqual(correct, 1)
    }

    func testLossNormalizerGivesShareOfGlobalMean() throws {
        let logits = randomTensor([4, 5], seed: 1, bound: 3)
        let labels = [0, 3, 2, 4]
        let whole = try softmaxCrossEntropy(logits: logits, labels: labels)
        let a = try softmaxCrossEntropy(logits: Tensor(shape: [2, 5], data: Array(logits.data[0..<10])),
                                        labels: [0, 3], normalizer: 4)
        let b = try softmaxCrossEntropy(logits: Tensor(shape: [2, 5], data: Array(logits.data[10..<20])),
                                        labels: [2, 4], normalizer: 4)
        XCTAssertEqual(a.loss + b.loss, whole.loss, accuracy: 1e-6)
        XCTAssertLessThan(maxAbsDifference(a.gradient.data + b.gradient.data, whole.gradient.data), 1e-7)
        XCTAssertEqual(a.correct + b.correct, whole.correct)

        let p = Tensor(shape: [2, 2], data: [1, 2, 3, 4]), t = Tensor(shape: [2, 2], data: [0, 2, 1, 5])
        let mse = try mseLoss(prediction: p, target: t)
        XCTAssertEqual(mse.loss, (1 + 0 + 4 + 1) / 4, accuracy: 1e-7)
        XCTAssertEqual(mse.gradient.data, [0.5, 0, 1, -0.5])
        let share = try mseLoss(prediction: p, target: t, normalizer: 4)
        XCTAssertEqual(share.loss, 6 / 8, accuracy: 1e-7)
    }

    func testCrossEntropyGradientFiniteDifferences() throws {
        let logits = randomTensor([3, 4], seed: 2, bound: 2)
        let labels = [1, 0, 3]
        let (_, grad, _) = try softmaxCrossEntropy(logits: logits, labels: labels)
        var maxErr: Float = 0
        for i in 0..<logits.count {
            var p = logits, m = logits
            p.data[i] += 1e-2; m.data[i] -= 1e-2
            let numeric = (try softmaxCrossEntropy(logits: p, labels: labels).loss
                           - softmaxCrossEntropy(logits: m, labels: labels).loss) / 2e-2
            maxErr = max(maxErr, abs(numeric - grad.data[i]))
        }
        print("cross-entropy gradient FD: max err \(maxErr)")
        XCTAssertLessThan(maxErr, 1e-3)
    }

    /// Adam's first three steps against the closed form (computed in Double).
    func testAdamFirstThreeStepsClosedForm() {
        let adam = Adam(parameterCount: 2)
        var params: [Float] = [0.5, -1.0]
        let grads: [[Float]] = [[0.1, -0.2], [0.3, 0.05], [-0.4, 0.1]]
        var m = [0.0, 0.0], v = [0.0, 0.0], expected = [0.5, -1.0]
        let lr = 0.005
        var maxDiff = 0.0
        for (t, g) in grads.enumerated() {
            adam.step(parameters: &params, gradients: g, learningRate: Float(lr))
            for i in 0..<2 {
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                let mHat = m[i] / (1 - Foundation.pow(0.9, Double(t + 1)))
                let vHat = v[i] / (1 - Foundation.pow(0.999, Double(t + 1)))
                expected[i] -= lr * mHat / (vHat.squareRoot() + 1e-8)
                maxDiff = max(maxDiff, abs(expected[i] - Double(params[i])))
            }
        }
        print("Adam 3 steps vs closed form: max |diff| = \(maxDiff)")
        XCTAssertLessThan(maxDiff, 1e-6)
        // Step 1 of Adam moves every parameter by lr·sign(g).
        XCTAssertEqual(adam.stepCount, 3)
    }

    func testSGDMomentumWeightDecayClosedForm() {
        let sgd = SGD(parameterCount: 1, momentum: 0.9, weightDecay: 0.1)
        var p: [Float] = [1]
        sgd.step(parameters: &p, gradients: [0.5], learningRate: 0.1)     // buf = 0.6,  p = 0.94
        sgd.step(parameters: &p, gradients: [0.5], learningRate: 0.1)     // buf = 0.54 + 0.594 = 1.134, p = 0.8266
        XCTAssertEqual(p[0], 0.8266, accuracy: 1e-6)
    }

    func testCosineScheduleRestartsPerLevel() {
        let s = LearningRateSchedule.cosineAnnealing(minimum: 0.001)
        XCTAssertEqual(s.learningRate(base: 0.1, stepInLevel: 0, stepsInLevel: 10), 0.1, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(base: 0.1, stepInLevel: 5, stepsInLevel: 10), 0.0505, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(base: 0.1, stepInLevel: 10, stepsInLevel: 10), 0.001, accuracy: 1e-7)
        XCTAssertEqual(LearningRateSchedule.constant.learningRate(base: 0.005, stepInLevel: 7, stepsInLevel: 10), 0.005)
    }
}
