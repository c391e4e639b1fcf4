import Foundation
import XCTest
@testable import ResNetCore

final class ProlongationTests: XCTestCase {
    func blockCount(_ m: ResNetModel, group: Int) -> Int {
        Set(m.slots.compactMap { s -> Int? in
            let p = s.name.split(separator: ".")
            return p.count > 4 && p[0] == "groups" && p[1] == "\(group)" && p[2] == "blocks" ? Int(p[3]) : nil
        }).count
    }

    func testParameterCountsAfterEachRule() throws {
        let mlp = ResNetModel(spec: .mlp(blocks: 2), seed: 1)
        let perBlock = 2 * (32 * 32 + 32), fixed = 2 * 32 + 33
        XCTAssertEqual(mlp.parameterCount, fixed + 2 * perBlock)
        let (inserted, _) = try prolong(mlp, toBlocks: ProlongationRule.insert.nextBlocks(after: [2]), rule: .insert)
        XCTAssertEqual(inserted.spec.blocks, [3])
        XCTAssertEqual(inserted.parameterCount, fixed + 3 * perBlock)
        XCTAssertEqual(inserted.spec.h, 0.5)
        let (doubled, _) = try prolong(mlp, toBlocks: ProlongationRule.double.nextBlocks(after: [2]), rule: .double)
        XCTAssertEqual(doubled.spec.blocks, [4])
        XCTAssertEqual(doubled.parameterCount, fixed + 4 * perBlock)

        // The thesis's CIFAR-10 levels: 2 → 3 → 5 blocks per group, as the trainer prolongs them.
        let c0 = ResNetModel(spec: .cifar10(), seed: 1)
        let (c1, _) = try prolong(c0, toBlocks: [3, 3, 3], rule: .insert, integrator: .midpoint)
        let (c2, _) = try prolong(c1, toBlocks: [5, 5, 5], rule: .insert)
        XCTAssertEqual(c2.spec.blocks, [5, 5, 5])
        XCTAssertEqual(c2.spec.h, 0.25)
        XCTAssertEqual(c2.spec.integrator, .midpoint)
        for g in 0..<3 { XCTAssertEqual(blockCount(c2, group: g), 5) }
        let blockParams = { (c: Int) in 2 * (9 * c * c + c) + 4 * c }
        let delta = (3 * blockParams(16) + 3 * blockParams(32) + 3 * blockParams(64))
        XCTAssertEqual(c2.parameterCount - c0.parameterCount, delta)
        XCTAssertThrowsError(try prolong(c2, toBlocks: [4, 5, 5], rule: .insert), "blocks cannot be removed")
        XCTAssertThrowsError(try prolong(c2, toBlocks: [5, 5], rule: .insert), "the number of groups is fixed")
        print("parameter counts: MLP 2/3/4 blocks \(mlp.parameterCount)/\(inserted.parameterCount)/\(doubled.parameterCount); CIFAR 2→5 \(c0.parameterCount)→\(c2.parameterCount)")
    }

    func testBlockSourceRules() throws {
        XCTAssertEqual(try blockSourceIndices(oldCount: 2, newCount: 3, rule: .insert), [0, 0, 1])
        XCTAssertEqual(try blockSourceIndices(oldCount: 3, newCount: 5, rule: .insert), [0, 0, 1, 1, 2])
        XCTAssertEqual(try blockSourceIndices(oldCount: 2, newCount: 4, rule: .double), [0, 0, 1, 1])
        XCTAssertEqual(try blockSourceIndices(oldCount: 2, newCount: 5, rule: .insert), [0, 0, 0, 0, 1])
        XCTAssertEqual(try blockSourceIndices(oldCount: 2, newCount: 5, rule: .double), [0, 0, 0, 0, 1])
        XCTAssertThrowsError(try blockSourceIndices(oldCount: 3, newCount: 2, rule: .insert))
    }

    /// The thesis (Fig. 4.2): T0 and T1 keep their weights, the new T0.5 copies T0; BN running
    /// statistics come along; non-residual layers are unchanged; Adam's moments follow.
    func testInsertPlacesCopiesWhereTheThesisSaysAndMapsOptimizerState() throws {
        let spec = ModelSpec(kind: .cnn, inputShape: [1, 6, 6], outputs: 3, widths: [2, 3], blocks: [2, 3],
                             h: 1, integrator: .euler, activation: .sigmoid)
        let coarse = ResNetModel(spec: spec, seed: 5)
        for i in 0..<coarse.state.count { coarse.state[i] = Float(i) * 0.01 }  // distinct running stats
        let (fine, map) = try prolong(coarse, toBlocks: ProlongationRule.insert.nextBlocks(after: [2, 3]), rule: .insert)
        XCTAssertEqual(fine.spec.blocks, [3, 5])
        XCTAssertEqual(map.blockSources, [[0, 0, 1], [0, 0, 1, 1, 2]])
        for (g, sources) in map.blockSources.enumerated() {
            for (j, source) in sources.enumerated() {
                for suffix in ["bn1.weight", "conv1.weight", "conv2.bias", "bn2.bias"] {
                    XCTAssertEqual(fine.parameter(named: "groups.\(g).blocks.\(j).\(suffix)"),
                                   coarse.parameter(named: "groups.\(g).blocks.\(source).\(suffix)"))
                }
                let new = fine.stateSlot(named: "groups.\(g).blocks.\(j).bn2.running_var")!
                let old = coarse.stateSlot(named: "groups.\(g).blocks.\(source).bn2.running_var")!
                XCTAssertEqual(Array(fine.state[new.range]), Array(coarse.state[old.range]))
            }
        }
        for name in ["groups.0.projection.conv.weight", "groups.1.projection.bn.weight", "head.weight", "head.bias"] {
            XCTAssertEqual(fine.parameter(named: name), coarse.parameter(named: name))
        }
        // Optimizer state laid out like the parameters (Adam's m): mark each old entry with its
        // index; the map puts each new entry where the block it copies had it.
        let m = (0..<coarse.parameterCount).map(Float.init)
        let prolongedM = map.apply(to: m)
        XCTAssertEqual(prolongedM.count, fine.parameterCount)
        let newSlot = fine.slot(named: "groups.1.blocks.3.conv1.weight")!
        let oldSlot = coarse.slot(named: "groups.1.blocks.1.conv1.weight")!
        XCTAssertEqual(Array(prolongedM[newSlot.range]), (oldSlot.range).map(Float.init))
    }

    /// Double the depth and halve h. With constant F the fine network is the same ODE solution:
    /// Y + n·h·c = Y + 2n·(h/2)·c, equal up to Float rounding.
    func testDoubleReproducesCoarseOutputWhenFIsConstant() throws {
        let coarse = ResNetModel(spec: .mlp(inputs: 2, outputs: 2, width: 6, blocks: 2, h: 0.5), seed: 11)
        for b in 0..<2 {  // F(y) = W2·σ(·) + b2 with W2 = 0 is the constant b2
            let slot = coarse.slot(named: "groups.0.blocks.\(b).fc2.weight")!
            for i in slot.range { coarse.parameters[i] = 0 }
        }
        let (fine, _) = try prolong(coarse, toBlocks: [4], rule: .double)
        let x = randomTensor([5, 2], seed: 3)
        let yc = try coarse.forward(x, training: false), yf = try fine.forward(x, training: false)
        let diff = maxAbsDifference(yc.data, yf.data)
        print("double with constant F: max |coarse − fine| = \(diff)")
        XCTAssertLessThan(diff, 1e-5)
    }

    /// With a general F, replacing one Euler step h by two steps h/2 changes the block output by
    /// (h/2)·(F(Y + h/2·F(Y)) − F(Y)), bounded by (h²/4)·L·M with L the Lipschitz constant of F
    /// (≤ ‖W2‖·‖W1‖/4 for sigmoid) and M = max‖F‖: O(h²) per coarse block, i.e. O(h) over a fixed
    /// horizon T = n·h. Asserted: the observed difference is below n·(h²/4)·L·M·(1+hL)^n·‖head‖
    /// (Frobenius norms, so an over-estimate), and it shrinks ~4× when h halves at fixed n.
    func testDoubleStaysWithinOhBoundForGeneralF() throws {
        var diffs: [Double] = []
        for h in [0.4, 0.2, 0.1] {
            let coarse = ResNetModel(spec: .mlp(inputs: 2, outputs: 2, width: 6, blocks: 2, h: h), seed: 12)
            let (fine, _) = try prolong(coarse, toBlocks: [4], rule: .double)
            let x = randomTensor([5, 2], seed: 4)
            let diff = Double(maxAbsDifference(try coarse.forward(x, training: false).data,
                                               try fine.forward(x, training: false).data))
            func norm(_ name: String) -> Double {
                coarse.parameter(named: name)!.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
            }
            var lipschitz = 0.0, maxF = 0.0
            for b in 0..<2 {
                let w1 = norm("groups.0.blocks.\(b).fc1.weight"), w2 = norm("groups.0.blocks.\(b).fc2.weight")
                lipschitz = max(lipschitz, w1 * w2 / 4)
                maxF = max(maxF, w2 + norm("groups.0.blocks.\(b).fc2.bias"))   // |σ| ≤ 1
            }
            let bound = 2 * (h * h / 4) * lipschitz * maxF * Foundation.pow(1 + h * lipschitz, 2) * norm("head.weight")
            print("double, general F, h = \(h): max |coarse − fine| = \(diff), bound \(bound)")
            XCTAssertLessThan(diff, bound)
            diffs.append(diff)
        }
        for (a, b) in zip(diffs, diffs.dropFirst()) {
            XCTAssertEqual(a / b, 4, accuracy: 1.0, "difference should scale like h² per coarse block")
        }
    }

    func testIntegratorChangeAtSwitchKeepsParameters() throws {
        let coarse = ResNetModel(spec: .mlp(blocks: 2), seed: 2)
        let (fine, map) = try prolong(coarse, toBlocks: [3], rule: .insert, integrator: .midpoint)
        XCTAssertEqual(fine.spec.integrator, .midpoint)
        XCTAssertEqual(fine.parameters, map.apply(to: coarse.parameters))
        XCTAssertEqual(fine.parameter(named: "groups.0.blocks.1.fc1.weight"),
                       coarse.parameter(named: "groups.0.blocks.0.fc1.weight"))
        XCTAssertEqual(fine.parameter(named: "groups.0.blocks.2.fc1.weight"),
                       coarse.parameter(named: "groups.0.blocks.1.fc1.weight"))
    }
}
