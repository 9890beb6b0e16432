using MiniGpt.Model;
using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Training;

public class TrainingStepTests
{
    static (Gpt Model, FlatParameters Flat, AdamW Opt) Setup()
    {
        var model = new Gpt(new GptConfig(VocabSize: 11, BlockSize: 8, NLayer: 1, NHead: 2, NEmbd: 8), seed: 2);
        var flat = new FlatParameters(model.UniqueParameters());
        return (model, flat, new AdamW(flat, weightDecay: 0.1));
    }

    static (Tensor, Tensor) Batch()
    {
        using var g = new Generator(3);
        return (randint(11, [2, 8], generator: g), randint(11, [2, 8], generator: g));
    }

    [Fact]
    public void DeferredCheck_RefusesTheBadStepOnTheDevice_AndReportsItAtTheCheckPoint()
    {
        var (model, flat, opt) = Setup();
        var step = new TrainingStep(model, flat, opt, 1, 1.0, CPU) { DeferCheck = true };
        step.Run(Batch, 1e-3, 0);
        step.ThrowIfDiverged();                                           // all finite so far
        using (no_grad()) model.UniqueParameters().First(p => p.Name.Contains("ln_f")).Param[0] = float.NaN;
        var thetaBefore = flat.Data.clone();
        var mBefore = opt.State.M.clone();
        var vBefore = opt.State.V.clone();
        step.Run(Batch, 1e-3, 1);                                         // no exception: nothing waited for the norm
        step.Run(Batch, 1e-3, 2);
        Assert.True(flat.Data.isnan().sum().item<long>() == 1, "only the poisoned value is NaN: no update was applied");
        Assert.True(flat.Data.nan_to_num().equal(thetaBefore.nan_to_num()).all().item<bool>());
        Assert.True(opt.State.M.equal(mBefore).all().item<bool>());
        Assert.True(opt.State.V.equal(vBefore).all().item<bool>());
        var ex = Assert.Throws<TrainingDivergedException>(step.ThrowIfDiverged);
        Assert.Equal(1, ex.Step);                                         // the first refused step
    }

    [Fact]
    public void GuardedAdamWStep_EqualsThePlainStep_WhenApplied()
    {
        var (m1, f1, o1) = Setup();
        var (m2, f2, o2) = Setup();
        var (x, y) = Batch();
        foreach (var (m, f) in new[] { (m1, f1), (m2, f2) })
        {
            f.ZeroGrad();
            m.Loss(m.call(x), y).backward();
        }
        o1.StepWith(1e-2);
        o2.StepWith(1e-2, tensor(true));
        var d = (f1.Data - f2.Data).abs().max().item<float>();
        Assert.True(d < 1e-7, $"guarded and plain steps differ by {d}");
        Assert.False(f1.Data.equal(Setup().Flat.Data).all().item<bool>(), "the step should have moved the weights");
    }
}
