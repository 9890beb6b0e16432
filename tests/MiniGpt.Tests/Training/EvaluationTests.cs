using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Generation;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;

namespace MiniGpt.Tests.Training;

public class EvaluationTests
{
    [Fact]
    public void EvalOnValSplit_EqualsTheTrainersEvalLoss_ForTheSameBatches()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir);
        TrainResult r;
        using (var t = new Trainer(c)) r = t.Run();
        using var m = TrainedModel.Load(Path.Combine(c.OutDir, "last.ckpt"), DeviceKind.Cpu);
        var report = Evaluation.OnSplit(m, Split.Val, c.EvalIters);
        Assert.Equal(r.Evals.Last().ValLoss, report.Loss, 6);
        Assert.Equal(Math.Exp(report.Loss), report.Perplexity, 9);
        // char tokens are characters, so bits per character is the loss in bits
        Assert.Equal("character", report.Unit);
        Assert.Equal(report.Loss / Math.Log(2), report.BitsPerUnit, 9);
    }

    [Fact]
    public void EvalOnText_CoversEveryToken_AndRejectsTooShortText()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 5 };
        using (var t = new Trainer(c)) t.Run();
        using var m = TrainedModel.Load(c.OutDir, DeviceKind.Cpu);
        const string text = "the quick brown fox jumps over the lazy dog. line 3: the quick";
        var report = Evaluation.OnText(m, dir.File("eval.txt", text));
        Assert.Equal(text.Length - 1, report.Tokens);   // every character but the first is predicted
        Assert.InRange(report.Loss, 0.5, 5.0);
        var ex = Assert.Throws<DataException>(() => Evaluation.OnText(m, dir.File("short.txt", "t")));
        Assert.Contains("too short", ex.Message);
    }

    [Fact]
    public void ACheckpointSayingFusedFalse_IsEvaluatedWithTheFusedKernels()
    {
        // Its explicit attention holds a (T, T) matrix per head: for a block of 2^20, gigabytes for a text of 8 KB.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2, Fused = false };
        using (var t = new Trainer(c)) t.Run();
        using var m = TrainedModel.Load(c.OutDir, DeviceKind.Cpu);
        var text = dir.File("eval.txt", string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 3)));
        Assert.False(m.Model.FusedKernels);
        var asSaved = (Evaluation.OnText(m, text).Loss, Evaluation.OnSplit(m, Split.Val, 2).Loss);
        Assert.False(m.Model.FusedKernels);   // and so it stays
        m.Model.UseFusedKernels(true);
        var fused = (Evaluation.OnText(m, text).Loss, Evaluation.OnSplit(m, Split.Val, 2).Loss);
        Assert.Equal(fused, asSaved);
        // The two paths differ in their last bits here, so the equality above says which one ran.
        using var x = TorchSharp.torch.tensor(m.Tokenizer.Encode(File.ReadAllText(text)).Take(c.BlockSize).Select(i => (long)i).ToArray()).unsqueeze(0);
        using var _ = TorchSharp.torch.no_grad();
        var withFused = m.Model.call(x);
        m.Model.UseFusedKernels(false);
        Assert.False(Compare.Identical(withFused, m.Model.call(x)));
    }

    [Fact]
    public void WeightsThatAreNotFinite_AreReported_NotScored()
    {
        // eval printed loss NaN, perplexity NaN and exited 0, where generate refuses the same model.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2 };
        using (var t = new Trainer(c)) t.Run();
        using var m = TrainedModel.Load(c.OutDir, DeviceKind.Cpu);
        using (TorchSharp.torch.no_grad()) m.Model.named_parameters().First(p => p.name.StartsWith("ln_f")).parameter.fill_(double.NaN);
        var text = dir.File("eval.txt", "the quick brown fox jumps over the lazy dog");
        Assert.Equal($"the model's loss on {text} is NaN: its weights hold NaN or infinities, or its arithmetic overflowed",
                     Assert.Throws<NonFiniteLossException>(() => Evaluation.OnText(m, text)).Message);
        Assert.StartsWith("the model's loss on val split of ", Assert.Throws<NonFiniteLossException>(() => Evaluation.OnSplit(m, Split.Val, 1)).Message);
    }

    [Fact]
    public void ABatchOfMoreTokensThanAPassTakes_GoesThroughInPieces_WithTheSameMean()
    {
        // A checkpoint's batch_size may be 2^20: one forward pass over such a batch took gigabytes.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2, BatchSize = 7 };
        using (var t = new Trainer(c)) t.Run();
        using var m = TrainedModel.Load(c.OutDir, DeviceKind.Cpu);
        using var data = TrainingData.Open(c);
        var rows = new List<long>();
        double whole = LossEstimator.Estimate(m.Model, data.EvalBatches(Split.Val, 5), 2, m.Device);
        var hook = m.Model.register_forward_pre_hook((_, x) => { rows.Add(x.size(0)); return x; });
        var done = new List<int>();
        double pieces = LossEstimator.Estimate(m.Model, data.EvalBatches(Split.Val, 5), 2, m.Device, maxTokensPerPass: 3 * c.BlockSize, new Reports(done));
        hook.remove();
        Assert.Equal(whole, pieces, 1e-6);
        Assert.Equal([1, 2], done);   // a batch is done once all its pieces are
        Assert.Equal([3, 3, 1, 3, 3, 1], rows);
    }

    [Fact]
    public void BpeModel_ReportsBitsPerByte()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { Tokenizer = TokenizerKind.Cl100kBase, MaxIters = 2, BlockSize = 8 };
        using (var t = new Trainer(c)) t.Run();
        using var m = TrainedModel.Load(c.OutDir, DeviceKind.Cpu);
        const string text = "the quick brown fox jumps over the lazy dog, naïve café";
        var report = Evaluation.OnText(m, dir.File("eval.txt", text));
        int tokens = m.Tokenizer.Encode(text).Count, bytes = System.Text.Encoding.UTF8.GetByteCount(text);
        Assert.Equal("byte", report.Unit);
        Assert.Equal(tokens - 1, report.Tokens);
        Assert.Equal(report.Loss / Math.Log(2) * tokens / bytes, report.BitsPerUnit, 9);
    }

    [Fact]
    public void MissingOrCorruptCheckpoints_AreNamed()
    {
        using var dir = new TempDir();
        Assert.Contains(dir.Path, Assert.Throws<DataException>(() => TrainedModel.Load(dir.Path)).Message);
        var bad = dir.File("x.ckpt", "not a checkpoint at all, just text");
        Assert.Contains(bad, Assert.Throws<DataException>(() => TrainedModel.Load(bad)).Message);
    }

    [Fact]
    public void ACheckpointWhoseTokenizerDisagreesWithItsModel_IsRefused()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 1 };
        using (var t = new Trainer(c)) t.Run();
        var path = Path.Combine(c.OutDir, Checkpoint.LastFile);
        int vocab = Checkpoint.Load(path).VocabSize;
        CraftedCheckpoint.EditMeta(path, meta => meta["tokenizer"]!["chars"] = meta["tokenizer"]!["chars"]!.GetValue<string>() + "ÆØÅ");
        var ex = Assert.Throws<DataException>(() => TrainedModel.Load(path, DeviceKind.Cpu));
        Assert.EndsWith($"its tokenizer has {vocab + 3} ids but its model {vocab}", ex.Message);
    }

    [Fact]
    public void ATokenCacheForAnotherVocabulary_IsRefused()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 1 };
        using (var t = new Trainer(c)) t.Run();
        var other = Path.Combine(dir.Path, "other");
        CorpusPreparer.Prepare(new PrepareOptions(dir.File("other.txt", string.Concat(Enumerable.Repeat("ZYXW VUTS\n", 50))), TokenizerKind.Char, other));
        using var m = TrainedModel.Load(c.OutDir, DeviceKind.Cpu);
        var ex = Assert.Throws<DataException>(() => Evaluation.OnSplit(m, Split.Val, 2, other));
        Assert.Equal($"token cache {other} was made with another tokenizer (char, 10 ids) than the checkpoint's (char, {m.Model.Config.VocabSize} ids)", ex.Message);
    }

    sealed class Reports(List<int> into) : IProgress<int>
    {
        public void Report(int value) => into.Add(value);
    }
}
