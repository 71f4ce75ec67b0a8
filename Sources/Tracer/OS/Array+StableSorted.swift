extension Array {
    /// Sorted by `key`, elements with equal keys kept in their order (`sorted` is not stable);
    /// the array itself when it is in order already (the common case: one check, no copy).
    func stableSorted<Key: Comparable>(by key: (Element) -> Key) -> [Element] {
        var inOrder = true
        for i in indices.dropFirst() where key(self[i]) < key(self[i - 1]) { inOrder = false; break }
        if inOrder { return self }
        return enumerated().sorted { (key($0.element), $0.offset) < (key($1.element), $1.offset) }.map(\.element)
    }
}
