namespace MedDistill.Data.Archives;

/// <summary>Reads several files one after the other as one forward-only stream (the parts of a split archive).</summary>
internal sealed class ConcatenatedStream(IReadOnlyList<string> paths) : Stream
{
    private int _index = -1;
    private FileStream? _current;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // An empty read must not be taken for the end of the current part (TarReader issues them).
        if (buffer.IsEmpty) return 0;
        while (true)
        {
            if (_current is null)
            {
                if (++_index >= paths.Count) return 0;
                _current = new FileStream(paths[_index], FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            }
            int n = _current.Read(buffer);
            if (n > 0) return n;
            _current.Dispose();
            _current = null;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _current?.Dispose();
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    // Unknown position, like GZipStream: TarReader then counts the bytes of each entry itself instead of consulting Position.
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
