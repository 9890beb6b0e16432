using MiniGpt.Data;
using MiniGpt.Model;

namespace MiniGpt.Config;

/// <summary>
/// Everything a training run is configured by, one declaration per key (<see cref="KeyAttribute"/>): its
/// name is nanoGPT's in snake_case (NLayer is n_layer), its default the initial value below, and
/// <see cref="Schema"/> derives binding, validation, help and checkpoint checks from it. The defaults, which
/// a config file's keys override, are nanoGPT's CPU Shakespeare-char recipe with its learned positions (the
/// shipped configs/shakespeare-char-cpu.json chooses rotary ones).
/// </summary>
public sealed record TrainConfig
{
    public static readonly ConfigSchema<TrainConfig> Schema = new(
        new("n_embd", ["n_head"], c => c.NEmbd % c.NHead == 0, c => $"must be divisible by n_head ({c.NHead})", "divisible by n_head"),
        new("n_embd", ["position_encoding"], c => c.PositionEncoding != PositionEncoding.Sinusoidal || c.NEmbd % 2 == 0, _ => "must be even for sinusoidal positions", "even with sinusoidal positions"),
        new("n_embd", ["n_head", "position_encoding"], c => c.PositionEncoding != PositionEncoding.Rotary || c.NEmbd % c.NHead != 0 || c.NEmbd / c.NHead % 2 == 0,
            c => $"must give an even head size for rotary positions (n_embd / n_head = {c.NEmbd / c.NHead})", "n_embd / n_head even with rotary positions"),
        new("min_lr", ["learning_rate", "decay_lr"], c => !c.DecayLr || c.MinLr <= c.LearningRate, c => $"must not exceed learning_rate ({ConfigProblem.Format(c.LearningRate)})", "≤ learning_rate while decay_lr"),
        new("block_size", ["batch_size"], c => (long)c.BatchSize * c.BlockSize <= int.MaxValue,
            c => $"times batch_size ({c.BatchSize}) must not exceed {int.MaxValue} tokens per micro-batch", $"× batch_size ≤ {int.MaxValue}"),
        new("lr_decay_iters", ["warmup_iters", "decay_lr"], c => !c.DecayLr || c.LrDecayIters > c.WarmupIters, c => $"must exceed warmup_iters ({c.WarmupIters})", "> warmup_iters while decay_lr"));

    // I/O
    [Key("folder for checkpoints, metrics.jsonl and TensorBoard logs", Group = KeyGroup.Io, NotEmpty = true)]
    public string OutDir { get; init; } = "out/shakespeare-char-cpu";

    [Key("scratch; resume (from out_dir/last.ckpt); gpt2, gpt2-medium, gpt2-large or gpt2-xl (downloaded once); or a Hugging Face GPT-2 folder",
        Group = KeyGroup.Io, NotEmpty = true)]
    public string InitFrom { get; init; } = Config.InitFrom.Scratch;

    [Key("steps between evaluations (and checkpoints)", Group = KeyGroup.Io, Min = 1)]
    public int EvalInterval { get; init; } = 250;

    [Key("steps between progress lines", Group = KeyGroup.Io, Min = 1)]
    public int LogInterval { get; init; } = 10;

    [Key("batches per split at each evaluation", Group = KeyGroup.Io, Min = 1)]
    public int EvalIters { get; init; } = 20;

    [Key("evaluate once and stop", Group = KeyGroup.Io)]
    public bool EvalOnly { get; init; }

    [Key("tokens of sample text logged at each evaluation (0: none)", Group = KeyGroup.Io, Min = 0, Max = 1 << 20)]
    public int SampleTokens { get; init; } = 200;

    // data
    [Key("token cache folder (train.bin, val.bin, meta.json)", Group = KeyGroup.Data, NotEmpty = true)]
    public string DataDir { get; init; } = "data/shakespeare_char";

    [Key("text to prepare the token cache from when data_dir holds none", Group = KeyGroup.Data)]
    public string? Corpus { get; init; } = "data/tinyshakespeare.txt";

    [Key("the JSON Lines or Parquet field that holds a corpus document's text", Group = KeyGroup.Data, NotEmpty = true)]
    public string TextField { get; init; } = "text";

    [Key("the tokenizer the cache is prepared with", Group = KeyGroup.Data, Architecture = true)]
    public TokenizerKind Tokenizer { get; init; } = TokenizerKind.Char;

    [Key("share of the corpus, from its end, held out for validation", Group = KeyGroup.Data, Min = 0, MinExclusive = true, Max = 1, MaxExclusive = true)]
    public double ValFraction { get; init; } = 0.1;

    [Key("a corpus of documents: its last documents held out for validation, instead of val_fraction (null: use val_fraction)", Group = KeyGroup.Data, Min = 1)]
    public long? ValDocuments { get; init; }

    [Key("micro-batches per optimizer step", Group = KeyGroup.Data, Min = 1, Max = 1 << 16)]
    public int GradientAccumulationSteps { get; init; } = 1;

    [Key("sequences per micro-batch", Group = KeyGroup.Data, Min = 1, Max = 1 << 20)]
    public int BatchSize { get; init; } = 12;

    [Key("context length in tokens", Group = KeyGroup.Data, Min = 1, Max = 1 << 20, Architecture = true)]
    public int BlockSize { get; init; } = 64;

    // model
    [Key("transformer blocks", Group = KeyGroup.Model, Min = 1, Max = 1024, Architecture = true)]
    public int NLayer { get; init; } = 4;

    [Key("attention heads per block", Group = KeyGroup.Model, Min = 1, Max = 1024, Architecture = true)]
    public int NHead { get; init; } = 4;

    [Key("embedding width", Group = KeyGroup.Model, Min = 1, Max = 1 << 16, Architecture = true)]
    public int NEmbd { get; init; } = 128;

    [Key("dropout rate after embeddings, attention weights and residual branches", Group = KeyGroup.Model, Min = 0, Max = 1, MaxExclusive = true)]
    public double Dropout { get; init; }

    [Key("biases in the linear layers and LayerNorms, as GPT-2 has", Group = KeyGroup.Model, Architecture = true)]
    public bool Bias { get; init; }

    [Key("fused kernels (layer_norm, gelu, attention, dropout, cross-entropy) instead of the explicit formulas", Group = KeyGroup.Model)]
    public bool Fused { get; init; } = true;

    [Key("how the model sees order: a learned table (GPT-2), fixed sinusoids, or rotary embeddings", Group = KeyGroup.Model, Architecture = true)]
    public PositionEncoding PositionEncoding { get; init; } = PositionEncoding.Learned;

    [Key("the MLP's GELU: exact (nanoGPT), or its tanh approximation (GPT-2's gelu_new)", Group = KeyGroup.Model, Architecture = true)]
    public Activation Activation { get; init; } = Activation.Gelu;

    [Key("the MLP's hidden width (null: 4 × n_embd)", Group = KeyGroup.Model, Min = 1, Max = 1 << 18, Architecture = true)]
    public int? NInner { get; init; }

    [Key("ε under each LayerNorm's square root", Group = KeyGroup.Model, Min = 0, MinExclusive = true, Max = 1, Architecture = true)]
    public double LayerNormEpsilon { get; init; } = 1e-5;

    // AdamW
    [Key("peak learning rate", Group = KeyGroup.Optimizer, Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 1e-3;

    [Key("optimizer steps to train for", Group = KeyGroup.Optimizer, Min = 0)]
    public int MaxIters { get; init; } = 2000;

    [Key("AdamW's decoupled weight decay, on matrices only", Group = KeyGroup.Optimizer, Min = 0, Max = 100)]
    public double WeightDecay { get; init; } = 0.1;

    [Key("AdamW's β₁", Group = KeyGroup.Optimizer, Min = 0, Max = 1, MaxExclusive = true)]
    public double Beta1 { get; init; } = 0.9;

    [Key("AdamW's β₂", Group = KeyGroup.Optimizer, Min = 0, Max = 1, MaxExclusive = true)]
    public double Beta2 { get; init; } = 0.99;

    [Key("clip the gradient's global norm to this (0: no clipping)", Group = KeyGroup.Optimizer, Min = 0)]
    public double GradClip { get; init; } = 1.0;

    // learning-rate schedule
    [Key("warm up, then cosine-decay the learning rate (false: constant)", Group = KeyGroup.Schedule)]
    public bool DecayLr { get; init; } = true;

    [Key("steps of linear warmup", Group = KeyGroup.Schedule, Min = 0)]
    public int WarmupIters { get; init; } = 100;

    [Key("step at which the decay reaches min_lr", Group = KeyGroup.Schedule, Min = 0)]
    public int LrDecayIters { get; init; } = 2000;

    [Key("learning rate at the end of the decay", Group = KeyGroup.Schedule, Min = 0)]
    public double MinLr { get; init; } = 1e-4;

    // system
    [Key("auto takes CUDA when it is available", Group = KeyGroup.System)]
    public DeviceKind Device { get; init; } = DeviceKind.Auto;

    [Key("bfloat16: mixed precision, with float32 master weights and optimizer", Group = KeyGroup.System)]
    public Precision Dtype { get; init; } = Precision.Float32;

    [Key("seeds the weights, the batches, dropout and samples", Group = KeyGroup.System)]
    public long Seed { get; init; } = 1337;

    [Key("the device's peak FLOP/s, against which mfu is reported", Group = KeyGroup.System, Min = 0, MinExclusive = true, Max = 1e18)]
    public double PeakFlops { get; init; } = 989e12;

    public GptConfig ToGptConfig(int vocabSize)
        => new(vocabSize, BlockSize, NLayer, NHead, NEmbd, Dropout, Bias, Fused, PositionEncoding, Activation, NInner, LayerNormEpsilon);

    /// <summary>This config with the architecture keys (<see cref="KeyAttribute.Architecture"/>) of another, but for
    /// those named in <paramref name="keep"/>.</summary>
    public TrainConfig WithArchitectureOf(TrainConfig other, params string[] keep) => Schema.CopyKeys(other, this, k => k.Architecture && !keep.Contains(k.Name));

    public long TokensPerIter => (long)GradientAccumulationSteps * BatchSize * BlockSize;
}

/// <summary>
/// Where a run's weights come from (the init_from key): from scratch, from out_dir/last.ckpt, or any other value
/// names pretrained weights: a GPT-2 size, downloaded once, or a Hugging Face GPT-2 folder.
/// </summary>
public static class InitFrom
{
    public const string Scratch = "scratch";
    public const string Resume = "resume";

    public static bool IsPretrained(string initFrom) => initFrom is not (Scratch or Resume);
}

/// <summary>The precision the matrix products run in.</summary>
public enum Precision { Float32, BFloat16 }
