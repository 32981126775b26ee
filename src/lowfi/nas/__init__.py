"""lowfi.nas"""
