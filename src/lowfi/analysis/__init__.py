"""lowfi.analysis"""
