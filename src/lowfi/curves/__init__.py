"""lowfi.curves"""
