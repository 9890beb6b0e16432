using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Generation;

/// <summary>The model's logits were NaN or infinite: its weights hold NaN or infinities, or its arithmetic overflowed.</summary>
public sealed class NonFiniteLogitsException(int step)
    : MiniGptException($"the model's logits are not finite at new token {step + 1}: its weights hold NaN or infinities, or its arithmetic overflowed")
{
    public int Step { get; } = step;
}

/// <summary>
/// Autoregressive sampling from a <see cref="Gpt"/>, of one sample or of a batch of them at once. The prompt
/// goes through the model in one forward pass (prefill); with the KV cache each new token then costs one
/// position's forward pass, and the ids drawn stay on the device to be fed back, read by the host once a step.
/// Past block_size the context slides in jumps: when it would exceed block_size it restarts from its last
/// block_size / 2 tokens. Sliding a cache by one token cannot be exact (every deeper layer's keys depend on the
/// tokens that slid out), so the cache is rebuilt at each jump, once per block_size / 2 tokens rather than for
/// every token. Both paths use the same window, so their logits agree at every step. One sample of a small float32
/// model on the CPU decodes each new position through <see cref="CpuDecoder"/> rather than its modules.
/// </summary>
public sealed class TextGenerator(Gpt model, bool useKvCache = true, int? decodeThreads = null, bool cpuDecoder = true)
{
    /// <summary>On the CPU, whether the model's weights fit in 16 MB, and so stay in cache from one step to the next.</summary>
    readonly bool? cachedOnCpu = model.parameters().First().device.type == DeviceType.CPU ? model.ParameterCount * 4 <= 16 << 20 : null;

    /// <summary>
    /// Intra-op threads for the steps that feed one new position (null: libtorch's own number). By default one on
    /// the CPU for a model whose weights fit in 16 MB: its products are too small to split, and waking a second
    /// thread for each of a step's hundred-odd operations cost the CPU recipe model a fifth of its speed
    /// (docs/benchmarks.md). A prompt, and the window rebuilt past block_size, still use every thread. The count
    /// holds while the caller handles a step, and is restored when the enumeration ends or is disposed.
    /// </summary>
    public int? DecodeThreads => decodeThreads ?? (cachedOnCpu == true ? 1 : null);

    /// <summary>
    /// Whether a step's products read large weights in slices (<see cref="Gpt.UseSlicedRows"/>): on the CPU for a
    /// float32 model whose weights exceed 16 MB, which each step streams from memory. Set while sampling, then put back.
    /// </summary>
    public bool SlicesRows => cachedOnCpu == false && model.ComputeDtype is null && model.parameters().First().dtype == float32;

    /// <summary>
    /// Whether one sample at a time runs the model through <see cref="CpuDecoder"/>, C# on float32 arrays, rather
    /// than its modules: with the KV cache, for a float32 model on the CPU whose weights fit in 16 MB and whose
    /// vocabulary is at most <see cref="CpuDecoder.MaxVocab"/>. The modules' hundred-odd calls a step cost the CPU
    /// recipe model more than its arithmetic; a batch of samples shares them, and from two samples on the modules
    /// were as fast or faster (docs/benchmarks.md).
    /// </summary>
    public bool UsesCpuDecoder => cpuDecoder && useKvCache && cachedOnCpu == true && model.Config.VocabSize <= CpuDecoder.MaxVocab
                                  && CpuDecoder.Supports(model);

    /// <summary>New positions the latest generation fed through <see cref="CpuDecoder"/>: every one but the prompt's and those after a jump, or none.</summary>
    public int CpuDecoderSteps { get; private set; }

    /// <summary>
    /// Positions the KV cache of the latest generation may hold (null before one, or without the cache): the prompt's
    /// last block and the new tokens fed back, at most block_size. Its memory grows to them as they are reached.
    /// </summary>
    public long? CachePositions { get; private set; }

    /// <summary>The id a sample starts from when there is no prompt: a newline, or 0 when the vocabulary has none.</summary>
    public static int StartToken(Data.ITokenizer tokenizer)
    {
        try { return tokenizer.Encode("\n") is { Count: > 0 } ids ? ids[0] : 0; }
        catch (Data.UnknownCharactersException) { return 0; }   // a char vocabulary without '\n'
    }

    /// <summary>Yields new token ids one at a time.</summary>
    public IEnumerable<int> Generate(IReadOnlyList<int> prompt, int maxNewTokens, SamplingOptions options, Generator generator)
        => Steps(prompt, maxNewTokens, options, [generator], keepLogits: false).Select(s => s.Ids[0]);

    /// <summary>As <see cref="Generate"/>, with the logits (V, float32, CPU) each token was drawn from.</summary>
    public IEnumerable<(int Id, Tensor Logits)> GenerateWithLogits(IReadOnlyList<int> prompt, int maxNewTokens, SamplingOptions options, Generator generator)
        => Steps(prompt, maxNewTokens, options, [generator], keepLogits: true).Select(s => (s.Ids[0], s.Logits!));

    /// <summary>
    /// One sample per generator, all continuing the same prompt in one batch: yields each step's new ids, one per
    /// sample. Sample i depends on generators[i] alone, so it is the sample that generator would give by itself.
    /// </summary>
    public IEnumerable<int[]> GenerateBatch(IReadOnlyList<int> prompt, int maxNewTokens, SamplingOptions options, IReadOnlyList<Generator> generators)
        => Steps(prompt, maxNewTokens, options, generators, keepLogits: false).Select(s => s.Ids);

    IEnumerable<(int[] Ids, Tensor? Logits)> Steps(IReadOnlyList<int> prompt, int maxNewTokens, SamplingOptions options, IReadOnlyList<Generator> generators, bool keepLogits)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt needs at least one token");
        if (generators.Count == 0) throw new ArgumentException("at least one generator, one per sample");
        if (options.Problems() is { Count: > 0 } bad) throw new ConfigException(bad);
        int B = generators.Count, blockSize = model.Config.BlockSize;
        // Every sample's context has the same length: the prompt's last block (all a window ever reads of it; a copy of
        // a prompt of 2^20 tokens for each of 1,024 samples took 14 GB), then one id per step.
        var kept = prompt.Skip(Math.Max(0, prompt.Count - blockSize)).ToArray();
        var contexts = Enumerable.Range(0, B).Select(_ => kept.ToList()).ToArray();
        int length = kept.Length;   // the window's: the contexts hold nothing before it
        var device = model.parameters().First().device;
        bool wasTraining = model.training, wasFused = model.FusedKernels, wasSliced = model.SlicedRows;
        KvCache? cache = null;
        Tensor? last = null;   // (B, 1): the ids drawn last step, on the device
        int threads = get_num_threads();
        try
        {
            model.eval();
            model.UseFusedKernels(true);   // the fastest kernels at inference, whatever the training config chose
            model.UseSlicedRows(SlicesRows);
            // Keys and values come out of c_attn in the compute dtype.
            // The window never holds more than the prompt's last block and the new tokens but the last (drawn, never
            // fed back): a cache of block_size would be the whole of a large block (a checkpoint's block_size of 2^20
            // asked 4 GB for five tokens). Within that bound the cache grows with the positions it is given.
            long capacity = Math.Min(blockSize, (long)length + Math.Max(maxNewTokens - 1, 0));
            // Made at the first step it decodes, and given the window's keys and values after each pass of the modules:
            // a sample of one token (bench's time to the first) pays for neither.
            bool useDecoder = UsesCpuDecoder && B == 1, decoderBehind = true;
            CpuDecoder? decoder = null;
            float[]? decoderLogits = null;
            CpuDecoderSteps = 0;
            cache = useKvCache ? new KvCache(model.Config, B, capacity, model.ComputeDtype ?? float32, device) : null;
            CachePositions = useKvCache ? capacity : null;
            for (int n = 0; n < maxNewTokens; n++)
            {
                int[] next;
                Tensor? logitsKept = null;
                using (var scope = NewDisposeScope())
                using (inference_mode())   // no_grad, and no view or version tracking either: cheaper for each of the step's many small operations
                {
                    bool jump = length > blockSize;
                    if (jump)
                    {
                        // What slid out is never read again: the contexts keep their windows, not every token of a long sample.
                        int drop = length - Math.Max(1, blockSize / 2);
                        foreach (var c in contexts) c.RemoveRange(0, drop);
                        length -= drop;
                    }
                    Tensor logits;
                    bool decoding = !(cache is null || jump || cache.Length == 0 || last is null);
                    int want = decoding && DecodeThreads is { } d ? d : threads;
                    if (get_num_threads() != want) set_num_threads(want);
                    if (decoding && useDecoder)
                    {
                        decoder ??= new CpuDecoder(model, (int)capacity);
                        decoderLogits ??= new float[model.Config.VocabSize];
                        if (decoderBehind) decoder.Load(cache!);   // the window's keys and values, from the modules' one pass over it
                        decoderBehind = false;
                        decoder.Step(contexts[0][length - 1], decoderLogits);
                        CpuDecoderSteps++;
                        logits = tensor(decoderLogits!, [1, model.Config.VocabSize]);                // (B, V), B = 1
                    }
                    else
                    {
                        Tensor idx;
                        if (!decoding)
                        {
                            cache?.Reset();
                            idx = tensor(contexts.SelectMany(c => c.Select(i => (long)i)).ToArray(), [B, length], device: device);   // (B, T): the window
                        }
                        else idx = last!;                                                           // (B, 1): only the new ids
                        logits = model.Forward(idx, cache, lastOnly: true).select(1, 0);           // (B, V)
                        decoderBehind = true;
                    }
                    // Logits that are NaN or infinite would sample the same id for ever, silently. One read at the prompt
                    // and at each rebuild of the window (not each step) finds weights that hold NaN, as an imported file may.
                    if ((n == 0 || jump) && !logits.isfinite().all().item<bool>()) throw new NonFiniteLogitsException(n);
                    var drawn = Sampling.Draw(logits, options, generators);                        // (B), on the device
                    next = drawn.cpu().data<long>().Select(i => (int)i).ToArray();                  // the step's one read by the host
                    last?.Dispose();
                    last = drawn.view(B, 1).MoveToOuterDisposeScope();
                    if (keepLogits) logitsKept = logits[0].to(float32).cpu().MoveToOuterDisposeScope();   // (V)
                }
                if (logitsKept is not null)
                {
                    using var inference = logitsKept;
                    logitsKept = inference.clone();   // made outside inference mode: an ordinary tensor for the caller
                }
                for (int b = 0; b < B; b++) contexts[b].Add(next[b]);
                length++;
                yield return (next, logitsKept);
            }
        }
        finally
        {
            if (get_num_threads() != threads) set_num_threads(threads);
            last?.Dispose();
            cache?.Dispose();
            model.UseFusedKernels(wasFused);
            model.UseSlicedRows(wasSliced);
            if (wasTraining) model.train();
        }
    }
}
