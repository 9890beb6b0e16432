using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Model;

/// <summary>
/// MiniGpt against an independent PyTorch reference (scripts/make_golden_fixture.py), as llm.c's
/// test_gpt2.c checks its C against PyTorch: same weights and batch, then logits, loss, every gradient
/// and five AdamW steps must agree. The largest difference of each tensor is printed.
/// </summary>
public class GoldenParityTests(ITestOutputHelper output)
{
    static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "gpt_tiny_golden.bin");

    static Gpt LoadModel(GoldenFixture fx, bool fused)
    {
        var c = fx.Header.GetProperty("config");
        var config = new GptConfig(
            VocabSize: c.GetProperty("vocab_size").GetInt32(), BlockSize: c.GetProperty("block_size").GetInt32(),
            NLayer: c.GetProperty("n_layer").GetInt32(), NHead: c.GetProperty("n_head").GetInt32(),
            NEmbd: c.GetProperty("n_embd").GetInt32(), Dropout: c.GetProperty("dropout").GetDouble(),
            Bias: c.GetProperty("bias").GetBoolean(), Fused: fused);
        var model = new Gpt(config);
        var names = model.UniqueParameters().Select(p => p.Name).ToHashSet();
        var expected = fx.Tensors.Keys.Where(k => k.StartsWith("param/")).Select(k => k["param/".Length..]).ToHashSet();
        Assert.True(names.SetEquals(expected), $"parameter names differ: ours only {string.Join(",", names.Except(expected))}; reference only {string.Join(",", expected.Except(names))}");
        using (no_grad())
            foreach (var (name, p) in model.UniqueParameters()) p.copy_(fx.Tensors["param/" + name]);
        return model;
    }

    double Report(string what, Tensor expected, Tensor actual)
    {
        var diff = Compare.MaxAbsDiff(expected, actual);
        output.WriteLine($"{what,-32} max |Δ| = {diff:E2}");
        return diff;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LogitsLossAndGradients_MatchPyTorch(bool fused)
    {
        var fx = GoldenFixture.Load(FixturePath);
        output.WriteLine($"reference: PyTorch {fx.Header.GetProperty("torch_version").GetString()}, fused = {fused}");
        var model = LoadModel(fx, fused);
        var logits = model.call(fx.Tokens("x"));
        var loss = model.Loss(logits, fx.Tokens("y"));
        loss.backward();

        Assert.True(Report("logits", fx.Tensors["logits"], logits) <= 1e-5, "logits differ by more than 1e-5");
        var lossDiff = Math.Abs(loss.item<float>() - fx.Header.GetProperty("loss").GetDouble());
        output.WriteLine($"{"loss",-32} max |Δ| = {lossDiff:E2}");
        Assert.True(lossDiff <= 1e-5, $"loss differs by {lossDiff:E2}");
        double worstGrad = 0;
        foreach (var (name, p) in model.UniqueParameters())
            worstGrad = Math.Max(worstGrad, Report("grad " + name, fx.Tensors["grad/" + name], p.grad!));
        Assert.True(worstGrad <= 1e-4, $"a gradient differs by {worstGrad:E2}");
    }

    [Fact]
    public void FiveAdamWSteps_MatchPyTorchLosses()
    {
        var fx = GoldenFixture.Load(FixturePath);
        var a = fx.Header.GetProperty("adamw");
        var model = LoadModel(fx, fused: true);
        using var flat = new FlatParameters(model.UniqueParameters());
        using var opt = new AdamW(flat, a.GetProperty("beta1").GetDouble(), a.GetProperty("beta2").GetDouble(),
            a.GetProperty("eps").GetDouble(), a.GetProperty("weight_decay").GetDouble());
        var expected = fx.Header.GetProperty("adamw_losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var (x, y) = (fx.Tokens("x"), fx.Tokens("y"));
        double worst = 0;
        for (int step = 0; step < expected.Length; step++)
        {
            using var scope = NewDisposeScope();
            if (step > 0) opt.StepWith(a.GetProperty("lr").GetDouble());
            flat.ZeroGrad();
            var loss = model.Loss(model.call(x), y);
            loss.backward();
            var diff = Math.Abs(loss.item<float>() - expected[step]);
            output.WriteLine($"step {step}: loss {loss.item<float>():F6}  PyTorch {expected[step]:F6}  |Δ| = {diff:E2}");
            worst = Math.Max(worst, diff);
        }
        Assert.True(expected[^1] < expected[0] - 0.1, "the reference losses should fall; the fixture looks wrong");
        Assert.True(worst <= 1e-5, $"an AdamW-step loss differs by {worst:E2}");
    }
}
