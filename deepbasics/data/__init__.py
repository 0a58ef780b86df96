"""Data: the sets the document and its exercises train on, the user's own files, and splits.

    datasets   generated 2-D sets (moons, circles, spirals, XOR, blobs), scikit-learn's bundled
               tables, and the user's CSV, Parquet and NPZ files, as one Dataset type
    readers    the user's CSV and Parquet tables read through Apache Arrow (pyarrow), with one-line
               errors naming the column and row; the target's encoding into classes or values
    mapped     tables bigger than memory: a CSV or Parquet file converted once into a cached .npy
               opened as a memory map, rows reordered and standardised into it, read pages released
    splits     train / validation / test splits (the document's 70/15/15 and 98/1/1) and standardising

May import: ``deepbasics.errors`` (and the rooms below it, ``nn`` and ``learn``, which it does not need);
pyarrow only in ``readers`` and ``mapped``, imported when a CSV or Parquet file is read.
"""
