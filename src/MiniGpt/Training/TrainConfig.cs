using MiniGpt.Model;

namespace MiniGpt.Training;

/// <summary>
/// Everything a training run is configured by. Keys are nanoGPT's, in snake_case (NLayer is n_layer);
/// <see cref="TrainConfigBinder"/> reads them from configs/*.json and command-line overrides.
/// Defaults are nanoGPT's CPU Shakespeare-char recipe.
/// </summary>
public sealed record TrainConfig
{
    // I/O
    public string OutDir { get; init; } = "out/shakespeare-char-cpu";
    public string DataDir { get; init; } = "data/shakespeare_char";
    public string? Corpus { get; init; } = "data/tinyshakespeare.txt";
    public string Tokenizer { get; init; } = "char";
    public double ValFraction { get; init; } = 0.1;
    public string InitFrom { get; init; } = "scratch";
    public int EvalInterval { get; init; } = 250;
    public int LogInterval { get; init; } = 10;
    public int EvalIters { get; init; } = 20;
    public bool EvalOnly { get; init; }
    public int SampleTokens { get; init; } = 200;

    // data
    public int GradientAccumulationSteps { get; init; } = 1;
    public int BatchSize { get; init; } = 12;
    public int BlockSize { get; init; } = 64;

    // model
    public int NLayer { get; init; } = 4;
    public int NHead { get; init; } = 4;
    public int NEmbd { get; init; } = 128;
    public double Dropout { get; init; }
    public bool Bias { get; init; }
    public bool Fused { get; init; } = true;
    public string PositionEncoding { get; init; } = "learned";

    // AdamW
    public double LearningRate { get; init; } = 1e-3;
    public int MaxIters { get; init; } = 2000;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.99;
    public double GradClip { get; init; } = 1.0;

    // learning-rate schedule
    public bool DecayLr { get; init; } = true;
    public int WarmupIters { get; init; } = 100;
    public int LrDecayIters { get; init; } = 2000;
    public double MinLr { get; init; } = 1e-4;

    // system
    public string Device { get; init; } = "auto";
    public string Dtype { get; init; } = "float32";
    public long Seed { get; init; } = 1337;
    public double PeakFlops { get; init; } = 989e12;

    public GptConfig ToGptConfig(int vocabSize) => new(vocabSize, BlockSize, NLayer, NHead, NEmbd, Dropout, Bias, Fused,
        PositionEncoding switch
        {
            "sinusoidal" => Model.PositionEncoding.Sinusoidal,
            "rotary" => Model.PositionEncoding.Rotary,
            _ => Model.PositionEncoding.Learned,
        });

    public int TokensPerIter => GradientAccumulationSteps * BatchSize * BlockSize;

    /// <summary>Every bad value, each naming its key and value; empty when the config is valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        void Require(bool ok, string key, object value, string rule) { if (!ok) p.Add($"{key} = {value}: {rule}"); }
        Require(NLayer >= 1, "n_layer", NLayer, "must be ≥ 1");
        Require(NHead >= 1, "n_head", NHead, "must be ≥ 1");
        Require(NEmbd >= 1, "n_embd", NEmbd, "must be ≥ 1");
        if (NHead >= 1 && NEmbd >= 1) Require(NEmbd % NHead == 0, "n_embd", NEmbd, $"must be divisible by n_head ({NHead})");
        Require(BlockSize >= 1, "block_size", BlockSize, "must be ≥ 1");
        Require(BatchSize >= 1, "batch_size", BatchSize, "must be ≥ 1");
        Require(GradientAccumulationSteps >= 1, "gradient_accumulation_steps", GradientAccumulationSteps, "must be ≥ 1");
        Require(Dropout >= 0 && Dropout < 1, "dropout", Dropout, "must be in [0, 1)");
        Require(LearningRate > 0, "learning_rate", LearningRate, "must be > 0");
        Require(MinLr >= 0 && MinLr <= LearningRate, "min_lr", MinLr, $"must be in [0, learning_rate = {LearningRate}]");
        Require(MaxIters >= 0, "max_iters", MaxIters, "must be ≥ 0");
        Require(WarmupIters >= 0, "warmup_iters", WarmupIters, "must be ≥ 0");
        if (DecayLr) Require(LrDecayIters > WarmupIters, "lr_decay_iters", LrDecayIters, $"must exceed warmup_iters ({WarmupIters})");
        Require(WeightDecay >= 0, "weight_decay", WeightDecay, "must be ≥ 0");
        Require(Beta1 >= 0 && Beta1 < 1, "beta1", Beta1, "must be in [0, 1)");
        Require(Beta2 >= 0 && Beta2 < 1, "beta2", Beta2, "must be in [0, 1)");
        Require(GradClip >= 0, "grad_clip", GradClip, "must be ≥ 0 (0 turns clipping off)");
        Require(EvalInterval >= 1, "eval_interval", EvalInterval, "must be ≥ 1");
        Require(EvalIters >= 1, "eval_iters", EvalIters, "must be ≥ 1");
        Require(LogInterval >= 1, "log_interval", LogInterval, "must be ≥ 1");
        Require(SampleTokens >= 0, "sample_tokens", SampleTokens, "must be ≥ 0");
        Require(ValFraction > 0 && ValFraction < 1, "val_fraction", ValFraction, "must be in (0, 1)");
        Require(PeakFlops > 0, "peak_flops", PeakFlops, "must be > 0");
        Require(Data.Tokenizers.Kinds.Contains(Tokenizer), "tokenizer", Tokenizer, $"must be one of {string.Join(", ", Data.Tokenizers.Kinds)}");
        Require(InitFrom is "scratch" or "resume", "init_from", InitFrom, "must be scratch or resume");
        Require(Device is "auto" or "cpu" or "cuda", "device", Device, "must be auto, cpu or cuda");
        Require(Dtype is "float32" or "bfloat16", "dtype", Dtype, "must be float32 or bfloat16");
        Require(PositionEncoding is "learned" or "sinusoidal" or "rotary", "position_encoding", PositionEncoding, "must be learned, sinusoidal or rotary");
        Require(!string.IsNullOrWhiteSpace(OutDir), "out_dir", $"'{OutDir}'", "must name a folder");
        Require(!string.IsNullOrWhiteSpace(DataDir), "data_dir", $"'{DataDir}'", "must name a folder");
        if (PositionEncoding == "sinusoidal") Require(NEmbd % 2 == 0, "n_embd", NEmbd, "must be even for sinusoidal positions");
        if (PositionEncoding == "rotary" && NHead >= 1 && NEmbd % NHead == 0)
            Require(NEmbd / NHead % 2 == 0, "n_embd", NEmbd, $"must give an even head size (n_embd / n_head) for rotary positions");
        return p;
    }
}
