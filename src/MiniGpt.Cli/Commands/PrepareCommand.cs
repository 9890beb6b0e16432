using System.CommandLine;
using System.Diagnostics;
using MiniGpt.Data;

namespace MiniGpt.Cli.Commands;

public static class PrepareCommand
{
    public static Command Build()
    {
        var corpus = new Option<string>("--corpus") { Description = "a .txt, .jsonl, .jsonl.gz or .parquet file, or a folder of them", Required = true };
        var tokenizer = new ChoiceOption<TokenizerKind>("--tokenizer", "the tokenizer", TokenizerKind.Char);
        var vocab = new Option<string?>("--vocab") { Description = "bpe: a GPT-2 style vocab.json" };
        var merges = new Option<string?>("--merges") { Description = "bpe: the matching merges.txt" };
        var tiktoken = new Option<string?>("--tiktoken") { Description = "bpe: a .tiktoken rank file instead of --vocab/--merges" };
        var compact = new Option<bool>("--compact") { Description = "keep only the ids the corpus uses, plus an unknown id" };
        var valFraction = OptionalNumber.WithDefault<double>("--val-fraction", "the share of the corpus (its end) kept for validation", 0.1);
        var valDocuments = new Option<long?>("--val-documents") { Description = "a corpus of documents: hold out its last N documents instead of --val-fraction" };
        var replace = new Option<bool>("--replace-invalid-utf8") { Description = "replace invalid UTF-8 (and a JSON string's lone surrogate escape) with U+FFFD instead of stopping" };
        var textField = new Option<string>("--text-field") { Description = "the JSON Lines or Parquet field that holds the text", DefaultValueFactory = _ => "text" };
        var separator = new Option<string>("--doc-separator") { Description = "char: what joins documents (its characters join the vocabulary)", DefaultValueFactory = _ => "\n\n" };
        var skipBad = new Option<bool>("--skip-bad-documents") { Description = "skip unreadable documents (counted) instead of stopping" };
        var workers = new Option<int?>("--workers") { Description = "threads that read and encode (default: one per core); the cache is the same whatever the number" };
        var outDir = new Option<string>("--out") { Description = "the cache folder to write", Required = true };
        var cmd = new Command("prepare", "Tokenize a corpus into a token cache (train.bin, val.bin, meta.json).")
        {
            corpus, tokenizer.Option, vocab, merges, tiktoken, compact, valFraction, valDocuments, replace, textField, separator, skipBad, workers, outDir,
        };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            // Said here rather than by the library, which does not know these flags.
            if (tokenizer.Get(r) == TokenizerKind.Bpe && r.GetValue(tiktoken) is null && (r.GetValue(vocab) is null || r.GetValue(merges) is null))
                throw new ConfigException([new ConfigProblem("tokenizer", "bpe", "needs --vocab FILE and --merges FILE, or --tiktoken FILE")]);
            var o = new PrepareOptions(r.GetValue(corpus)!, tokenizer.Get(r), r.GetValue(outDir)!, r.GetValue(valFraction),
                r.GetValue(compact), r.GetValue(vocab), r.GetValue(merges), r.GetValue(tiktoken), r.GetValue(replace),
                TextField: r.GetValue(textField)!, DocSeparator: r.GetValue(separator)!, SkipBadDocuments: r.GetValue(skipBad), Workers: r.GetValue(workers), ValDocuments: r.GetValue(valDocuments));
            var sw = Stopwatch.StartNew();
            var progress = new ConsoleProgress(Console.Error, live: !Console.IsErrorRedirected);
            TokenCacheMeta meta;
            try { meta = CorpusPreparer.Prepare(o, progress); }
            finally { progress.End(); }   // an error's line starts a line of its own, not the end of the bar
            var seconds = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"tokenizer {Choices.Name(meta.Tokenizer.Kind)}{(meta.Tokenizer.CompactIds is null ? "" : " (compact)")}, vocab size {meta.VocabSize}");
            Console.WriteLine($"train: {meta.TrainTokens:N0} tokens, val: {meta.ValTokens:N0} tokens ({meta.BytesPerToken * 8}-bit ids)");
            if (meta.Documents is { } docs)
                Console.WriteLine($"documents: {docs - meta.ValDocuments:N0} train, {meta.ValDocuments:N0} val, {meta.SkippedDocuments:N0} bad ones skipped");
            Console.WriteLine($"corpus {meta.CorpusBytes / 1e6:F1} MB in {seconds:F2} s ({meta.CorpusBytes / 1e6 / Math.Max(seconds, 1e-9):F1} MB/s) → {o.OutDir}");
            return 0;
        }, cmd.Options, CliErrors.PrepareHolds));
        return cmd;
    }

    /// <summary>
    /// Progress on stderr for corpora that take a while: on a terminal a bar rewritten in place (bytes, documents,
    /// MB/s, ETA), when redirected the same words as a line per 10 % of each pass.
    /// </summary>
    public sealed class ConsoleProgress(TextWriter error, bool live) : IProgress<PrepareProgress>
    {
        readonly ProgressOutput output = new(error, live);
        PreparePhase? phase;
        double phaseStart;

        /// <summary>Ends a bar's line, if one is open.</summary>
        public void End() => output.End();

        public void Report(PrepareProgress p)
        {
            if (p.Phase != phase)
            {
                output.Restart();
                (phase, phaseStart) = (p.Phase, output.Seconds);
            }
            if (!output.Due(p.BytesDone, p.BytesTotal)) return;
            output.Draw(ProgressLine.Format(Choices.Name(p.Phase), p.BytesDone, p.BytesTotal, output.Seconds - phaseStart, bar: output.Live,
                p.Documents > 0 ? $"{p.Documents:N0} documents" : null));
            if (p.BytesDone >= p.BytesTotal && p.Phase == PreparePhase.Encode) output.End();
        }
    }
}
