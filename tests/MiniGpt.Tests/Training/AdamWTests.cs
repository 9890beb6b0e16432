using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Training;

public class AdamWTests
{
    [Fact]
    public void WorkedExample_Section13_FirstStepMovesByLearningRateTimesSign()
    {
        var theta = nn.Parameter(tensor(new[] { 0.5, 0.5 }, dtype: float64));
        using var flat = new FlatParameters([("theta", theta)]);
        using var opt = new AdamW(flat, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0);
        flat.Grad.copy_(tensor(new[] { 0.1, -0.2 }, dtype: float64));
        opt.StepWith(0.001);
        var (m, v, step) = opt.State;
        Close(tensor(new[] { 0.01, -0.02 }), m, 1e-15);
        Close(tensor(new[] { 1e-5, 4e-5 }), v, 1e-15);
        Assert.Equal(1, step);
        // m̂ / (√v̂ + ε) = 0.1 / (0.1 + 1e−8) and −0.2 / (0.2 + 1e−8): a step of η·sign(g) to about 1e−10.
        Close(tensor(new[] { 0.5 - 0.001, 0.5 + 0.001 }), theta, 2e-10);
        Close(tensor(new[] { 0.5 - 0.001 * 0.1 / (0.1 + 1e-8), 0.5 + 0.001 * 0.2 / (0.2 + 1e-8) }), theta, 1e-15);
    }

    [Fact]
    public void WeightDecay_AppliesToMatricesOnly()
    {
        var matrix = nn.Parameter(ones(2, 2, dtype: float64));
        var vector = nn.Parameter(ones(2, dtype: float64));
        using var flat = new FlatParameters([("w", matrix), ("b", vector)]);
        using var opt = new AdamW(flat, weightDecay: 0.1);
        opt.StepWith(0.01);   // zero gradient: only decay can move anything
        Close(full(new long[] { 2, 2 }, 1 - 0.01 * 0.1, dtype: float64), matrix, 1e-15);
        Close(ones(2, dtype: float64), vector, 0);
    }

    [Fact]
    public void MatchesTorchSharpAdamW_OverTenSteps()
    {
        var config = new GptConfig(VocabSize: 13, BlockSize: 8, NLayer: 2, NHead: 2, NEmbd: 16, Bias: true);
        var ours = new Gpt(config, seed: 4);
        var reference = new Gpt(config, seed: 4);
        using var flat = new FlatParameters(ours.UniqueParameters());
        using var opt = new AdamW(flat, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1);
        var refParams = reference.UniqueParameters().Select(p => p.Param).ToList();
        var groups = new List<TorchSharp.Modules.AdamW.ParamGroup>
        {
            new(refParams.Where(p => p.dim() >= 2), new TorchSharp.Modules.AdamW.Options { weight_decay = 0.1 }),
            new(refParams.Where(p => p.dim() < 2), new TorchSharp.Modules.AdamW.Options { weight_decay = 0.0 }),
        };
        var refOpt = optim.AdamW(groups, lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8);
        using var g = new Generator(8);
        double worst = 0;
        for (int step = 0; step < 10; step++)
        {
            var idx = randint(13, [2, 8], generator: g);
            var targets = randint(13, [2, 8], generator: g);
            flat.ZeroGrad();
            ours.Loss(ours.call(idx), targets).backward();
            opt.StepWith(1e-2);
            refOpt.zero_grad();
            reference.Loss(reference.call(idx), targets).backward();
            refOpt.step();
            foreach (var ((name, a), (_, b)) in ours.UniqueParameters().Zip(reference.UniqueParameters()))
                worst = Math.Max(worst, MaxAbsDiff(a, b));
        }
        Assert.True(worst <= 1e-6, $"largest parameter difference after 10 steps: {worst:E3}");
    }
}
