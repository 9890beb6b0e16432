using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Formats;
using MiniGpt.Tests.Formats;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Training;

/// <summary>init_from a Hugging Face GPT-2 folder: nanoGPT's fine-tuning, on the tiny fixture model.</summary>
public class PretrainedTrainingTests
{
    static TrainConfig FineTune(TempDir dir) => TinyRun.Config(dir) with
    {
        InitFrom = HfGpt2ImportTests.CopyFixture(dir, "gpt2-tiny", null),
        Tokenizer = TokenizerKind.Char,   // the model's tokenizer wins, as its architecture does
        MaxIters = 30,
        EvalInterval = 30,
        EvalIters = 4,
        LearningRate = 3e-3,
        DecayLr = false,
        MinLr = 1e-4,
    };

    [Fact]
    public void FineTuning_StartsFromTheModelsWeights_AndLowersItsLoss()
    {
        using var dir = new TempDir();
        var c = FineTune(dir);
        using var t = new Trainer(c);
        Assert.Equal((2, 4, 32, 80, TokenizerKind.Bpe, 16), (t.Config.NLayer, t.Config.NHead, t.Config.NEmbd, t.Config.NInner, t.Config.Tokenizer, t.Config.BlockSize));
        using (var folder = HfModelFolder.Open(c.InitFrom))
        using (var reference = folder.Build(folder.Apply(t.Config)))
        {
            var theirs = reference.state_dict();
            foreach (var (name, p) in t.Model.UniqueParameters())
                Assert.True(Compare.Identical(p, theirs[name]), $"{name} is not the pretrained weight");
        }
        var r = t.Run();
        Assert.True(r.Evals[^1].ValLoss < r.Evals[0].ValLoss - 0.5, $"val loss {r.Evals[0].ValLoss:F4} → {r.Evals[^1].ValLoss:F4}");
        using var saved = TrainedModel.Load(t.LastPath, DeviceKind.Cpu);
        Assert.Equal(c.InitFrom, saved.Config.InitFrom);
    }

    [Fact]
    public void Resuming_AFineTuningRun_KeepsTheModelsArchitecture()
    {
        using var dir = new TempDir();
        var c = FineTune(dir) with { MaxIters = 10, EvalInterval = 5 };
        using (var t = new Trainer(c)) t.Run();
        // The resumed config names none of the model's keys: they come from the checkpoint, as they came from the model.
        var resume = TinyRun.Config(dir) with { InitFrom = InitFrom.Resume, MaxIters = 20, EvalInterval = 5 };
        using (var t = new Trainer(resume))
        {
            Assert.Equal((10, 32, 80), (t.Iter, t.Config.NEmbd, t.Config.NInner));
            t.Run();
        }
        using (var t = new Trainer(resume with { MaxIters = 25 }))   // and again: the checkpoint still says where it came from
            Assert.Equal((20, 32), (t.Iter, t.Config.NEmbd));
    }

    [Fact]
    public void FineTuning_OnACacheOfAnotherTokenizer_NamesBoth()
    {
        using var dir = new TempDir();
        var c = FineTune(dir);
        CorpusPreparer.Prepare(new PrepareOptions(c.Corpus!, TokenizerKind.Char, c.DataDir));
        var ex = Assert.Throws<DataException>(() => new Trainer(c));
        Assert.Contains($"token cache {c.DataDir} was prepared with char (", ex.Message);
        Assert.Contains($"but the model {c.InitFrom} uses bpe (267 ids)", ex.Message);
    }

    [Fact]
    public void FineTuningAnExportedCharModel_KeepsItsVocabulary_AndRefusesCharactersOutsideIt()
    {
        using var dir = new TempDir();
        var (model, config, tokenizer) = HfExportTests.Model(false, MiniGpt.Model.PositionEncoding.Learned, MiniGpt.Model.Activation.Gelu);
        var export = Path.Combine(dir.Path, "export");
        using (model) HfExport.Write(model, config, tokenizer, export, TensorDtype.F32);
        var c = TinyRun.Config(dir) with { InitFrom = export, BlockSize = 12, MaxIters = 2, EvalInterval = 2 };
        var ex = Assert.Throws<DataException>(() => new Trainer(c));   // TinyRun's corpus has digits
        Assert.Contains("has characters the model's vocabulary lacks: U+0030 U+0031", ex.Message);

        var fits = dir.File("fits.txt", string.Concat(Enumerable.Repeat("the quick brown fox, jumps over the lazy dog.\n", 40)));
        using var t = new Trainer(c with { Corpus = fits, DataDir = Path.Combine(dir.Path, "cache2") });
        Assert.True(t.Run().FinalIter == 2);
        using var saved = TrainedModel.Load(t.LastPath, DeviceKind.Cpu);
        Assert.True(saved.Tokenizer.Describe().SameTokenizer(tokenizer.Describe()), "the run's tokenizer is not the exported model's");
    }

    [Theory]
    [InlineData("gpt3", "gpt3 is neither a model folder nor one of gpt2, gpt2-medium, gpt2-large, gpt2-xl")]
    [InlineData("", "init_from = '': must not be empty")]
    public void InitFrom_NeitherAModelNorAFolder_IsOneLine(string initFrom, string message)
    {
        using var dir = new TempDir();
        var ex = Assert.ThrowsAny<MiniGptException>(() => new Trainer(TinyRun.Config(dir) with { InitFrom = initFrom }));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void InitFrom_AFolderWithoutConfig_SaysSo()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "empty"));
        var ex = Assert.Throws<DataException>(() => new Trainer(TinyRun.Config(dir) with { InitFrom = Path.Combine(dir.Path, "empty") }));
        Assert.Contains("is not a model folder: it has no config.json", ex.Message);
    }
}
